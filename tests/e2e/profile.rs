//! Profile updates.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{spawn_app, TestResult};

#[tokio::test]
async fn username_changes_stay_unique_case_insensitively() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let _bob = app.user("bob").await;
    let (status, body) = app
        .call(
            Method::PATCH,
            "/api/users/profile/",
            Some(&alice.access),
            Some(json!({ "username": "BOB" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["username"].is_array());
    let (status, me) = app
        .call(
            Method::PATCH,
            "/api/users/profile/",
            Some(&alice.access),
            Some(json!({ "username": "Alice2" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "Alice2");
    // The old name is free again; the new one is taken.
    let (status, _) = app
        .register("alice", "new-alice@example.com", "another fine pass")
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .register("alice2", "x@example.com", "another fine pass")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn messages_keep_the_senders_name_at_sending_time() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let (_, direct) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", bob.id),
            Some(&alice.access),
            json!({}),
        )
        .await;
    let direct = direct["id"].as_str().ok_or("id")?.to_owned();
    app.send(&alice, &room, "before").await;
    app.clock.advance_millis(1);
    let (status, _) = app
        .call(
            Method::PATCH,
            "/api/users/profile/",
            Some(&alice.access),
            Some(json!({ "username": "alicia" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.send(&alice, &room, "after").await;
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &alice.access)
        .await;
    assert_eq!(page["results"][0]["sender"]["username"], "alicia");
    assert_eq!(page["results"][1]["sender"]["username"], "alice");
    assert_eq!(page["results"][0]["sender"]["id"], alice.id.as_str());
    // Every room she is in knows the new name, over the socket too; what
    // bob receives says it.
    let mut bobs = app.ws_room(&bob, &direct).await;
    let mut hers = app.ws_room(&alice, &direct).await;
    hers.send(json!({ "message": "renamed" })).await;
    let got = bobs.next_of("message").await;
    assert_eq!(got["message"], "renamed");
    assert_eq!(got["sender"], "alicia");
    Ok(())
}

#[tokio::test]
async fn the_email_cannot_be_changed_through_the_profile() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/users/profile/",
            Some(&alice.access),
            Some(json!({ "email": "evil@example.com" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["email"].is_array());
    Ok(())
}

#[tokio::test]
async fn users_are_found_by_name_to_start_a_chat_and_only_verified_ones() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, _) = app
        .register("carol", "carol@example.com", "correct horse battery")
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, found) = app
        .get("/api/users/lookup/?username=BOB", &alice.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found, json!({ "id": bob.id, "username": "bob" }));
    for (query, expected) in [
        ("username=nobody", StatusCode::NOT_FOUND),
        ("username=carol", StatusCode::NOT_FOUND),
        ("username=no%20spaces", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = app
            .get(&format!("/api/users/lookup/?{query}"), &alice.access)
            .await;
        assert_eq!(status, expected, "{query}: {body}");
    }
    let (status, _) = app
        .call(Method::GET, "/api/users/lookup/?username=bob", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Names cannot be listed by trying them all.
    let mut limited = false;
    for i in 0..70 {
        let (status, _) = app
            .get(
                &format!("/api/users/lookup/?username=guess{i}"),
                &alice.access,
            )
            .await;
        limited |= status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "60 lookups a minute");
    Ok(())
}
