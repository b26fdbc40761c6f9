//! Direct chats: one room per pair, however it is asked for.

use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;

use crate::support::{spawn_app, TestResult};

#[tokio::test]
async fn twenty_concurrent_calls_make_one_room() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let calls = (0..20).map(|i| {
        let (caller, other) = if i % 2 == 0 {
            (&alice, &bob)
        } else {
            (&bob, &alice)
        };
        let app = &app;
        async move {
            app.post(
                &format!("/api/chat/direct-chat/{}/", other.id),
                Some(&caller.access),
                json!({}),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let ids: HashSet<String> = results
        .iter()
        .map(|(_, room)| room["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one call created the room");
    let (_, rooms) = app.get("/api/chat/rooms/", &alice.access).await;
    assert_eq!(rooms.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn creating_a_direct_room_through_the_rooms_route_is_idempotent_too() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, first) = app
        .post(
            "/api/chat/rooms/",
            Some(&alice.access),
            json!({ "type": "direct", "members": [bob.id] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", alice.id),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    assert!(first["name"].is_null());
    Ok(())
}
