//! Editing and deleting messages: who may, what every member sees live, and
//! what a client that was offline catches up on.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User, WsClient, EVENT_WAIT};

pub(crate) fn message_path(room: &str, message: &str) -> String {
    format!("/api/chat/rooms/{room}/messages/{message}/")
}

async fn edit(
    app: &TestApp,
    user: &User,
    room: &str,
    message: &str,
    text: &str,
) -> (StatusCode, Value) {
    app.call(
        Method::PATCH,
        &message_path(room, message),
        Some(&user.access),
        Some(json!({ "message": text })),
    )
    .await
}

async fn delete(app: &TestApp, user: &User, room: &str, message: &str) -> StatusCode {
    app.call(
        Method::DELETE,
        &message_path(room, message),
        Some(&user.access),
        None,
    )
    .await
    .0
}

pub(crate) async fn sent(app: &TestApp, user: &User, room: &str, text: &str) -> TestResult<String> {
    let (status, body) = app.send(user, room, text).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Ok(body["id"].as_str().ok_or("id")?.to_owned())
}

/// Every event a `sync` with `after_change` brings, up to its `synced`.
pub(crate) async fn sync_all(socket: &mut WsClient, room: &str) -> TestResult<(Vec<Value>, Value)> {
    socket
        .send(json!({ "action": "sync", "room_id": room, "after_seq": 0, "after_change": 0 }))
        .await;
    let mut events = Vec::new();
    loop {
        let event = socket.next_within(EVENT_WAIT).await.ok_or("sync answers")?;
        match event["type"].as_str() {
            Some("synced") => return Ok((events, event)),
            Some("message" | "message_updated" | "message_deleted") => events.push(event),
            Some("error") => return Err(format!("sync failed: {event}").into()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn edits_and_deletions_reach_members_live_and_after_a_reconnect() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let room = app.group(&alice, "team", &[&bob, &carol]).await;
    let mut bob_socket = app.ws_user(&bob).await;

    let hello = sent(&app, &alice, &room, "hello").await?;
    let oops = sent(&app, &bob, &room, "oops").await?;
    let (status, edited) = edit(&app, &alice, &room, &hello, "hello, edited").await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["message"], "hello, edited");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(
        (edited["seq"].as_u64(), edited["change"].as_u64()),
        (Some(1), Some(1))
    );

    let live = bob_socket.next_of("message_updated").await;
    assert_eq!(
        (live["id"].as_str(), live["message"].as_str()),
        (Some(hello.as_str()), Some("hello, edited"))
    );

    // An admin deletes someone else's message; it keeps its place.
    assert_eq!(
        delete(&app, &alice, &room, &oops).await,
        StatusCode::NO_CONTENT
    );
    let live = bob_socket.next_of("message_deleted").await;
    assert_eq!(
        (
            live["message_id"].as_str(),
            live["seq"].as_u64(),
            live["change"].as_u64()
        ),
        (Some(oops.as_str()), Some(2), Some(2))
    );
    assert_eq!(
        delete(&app, &alice, &room, &oops).await,
        StatusCode::NO_CONTENT,
        "deleting again changes nothing"
    );

    let (status, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &carol.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    let results = page["results"].as_array().ok_or("results")?;
    let by_id = |id: &str| {
        results
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_id(&hello)["message"], "hello, edited");
    let tombstone = by_id(&oops);
    assert_eq!(
        (
            tombstone["deleted"].as_bool(),
            tombstone["message"].as_str(),
            tombstone["seq"].as_u64()
        ),
        (Some(true), Some(""), Some(2))
    );

    // Carol was offline: one sync brings the messages and then their changes.
    let mut carol_socket = app.ws_user(&carol).await;
    let (events, synced) = sync_all(&mut carol_socket, &room).await?;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["message", "message", "message_updated", "message_deleted"],
        "{events:?}"
    );
    assert_eq!(synced["last_change"], 2, "{synced}");
    assert_eq!(synced["last_seq"], 2, "{synced}");
    Ok(())
}

#[tokio::test]
async fn only_the_sender_edits_and_only_the_sender_or_an_admin_deletes() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let room = app.group(&alice, "team", &[&bob, &carol]).await;
    let bobs = sent(&app, &bob, &room, "bob's words").await?;

    let (status, _) = edit(&app, &alice, &room, &bobs, "not yours").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an admin does not edit others' words"
    );
    let (status, _) = edit(&app, &carol, &room, &bobs, "not yours").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        delete(&app, &carol, &room, &bobs).await,
        StatusCode::FORBIDDEN,
        "a member deletes only their own"
    );
    let (status, _) = edit(&app, &dave, &room, &bobs, "outsider").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an outsider does not learn the room exists"
    );
    assert_eq!(
        delete(&app, &dave, &room, &bobs).await,
        StatusCode::NOT_FOUND
    );

    let (status, _) = edit(&app, &bob, &room, &bobs, "bob's better words").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        delete(&app, &bob, &room, &bobs).await,
        StatusCode::NO_CONTENT,
        "the sender deletes their own"
    );
    let (status, _) = edit(&app, &bob, &room, &bobs, "back again").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a deleted message cannot be edited"
    );
    Ok(())
}

#[tokio::test]
async fn bad_edits_get_clean_errors() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "team", &[]).await;
    let id = sent(&app, &alice, &room, "hello").await?;

    let (status, body) = edit(&app, &alice, &room, &id, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_array(), "{body}");
    let (status, body) = edit(&app, &alice, &room, &id, &"x".repeat(5_000)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_array(), "{body}");
    let (status, body) = app
        .call(
            Method::PATCH,
            &message_path(&room, &id),
            Some(&alice.access),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let unknown = "01KZZZZZZZZZZZZZZZZZZZZZZZ";
    let (status, _) = edit(&app, &alice, &room, unknown, "x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = edit(&app, &alice, &room, "not-an-id", "x").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        delete(&app, &alice, &room, unknown).await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = app
        .call(
            Method::PATCH,
            &message_path(&room, &id),
            None,
            Some(json!({ "message": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}
