//! Blocking: no direct chat between the two, no direct messages either
//! way, and neither sees the other's presence; group rooms go on.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User};

const QUIET: Duration = Duration::from_millis(500);

async fn block(app: &TestApp, user: &User, target: &str) -> (StatusCode, Value) {
    app.post(
        "/api/users/blocks/",
        Some(&user.access),
        json!({ "user_id": target }),
    )
    .await
}

async fn direct(app: &TestApp, user: &User, other: &User) -> (StatusCode, Value) {
    app.post(
        &format!("/api/chat/direct-chat/{}/", other.id),
        Some(&user.access),
        json!({}),
    )
    .await
}

fn member<'a>(members: &'a Value, user: &User) -> &'a Value {
    members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["user"]["id"] == user.id.as_str()))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_block_stops_direct_messages_both_ways_until_it_is_lifted() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (status, room) = direct(&app, &alice, &bob).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    let dm = room["id"].as_str().ok_or("room id")?.to_owned();
    let group = app.group(&alice, "team", &[&bob, &carol]).await;
    let mut bob_socket = app.ws_user(&bob).await;

    let (status, blocked) = block(&app, &alice, &bob.id).await;
    assert_eq!(status, StatusCode::CREATED, "{blocked}");
    assert_eq!(blocked["user"]["id"], bob.id.as_str());
    assert_eq!(blocked["user"]["username"], "bob");
    let (status, again) = block(&app, &alice, &bob.id).await;
    assert_eq!(status, StatusCode::OK, "blocking again changes nothing");
    assert_eq!(again["blocked_at"], blocked["blocked_at"]);
    let (status, list) = app.get("/api/users/blocks/", &alice.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([blocked]));
    let (_, list) = app.get("/api/users/blocks/", &bob.access).await;
    assert_eq!(list, json!([]), "bob blocks no one");

    // Neither opens a direct chat, nor writes in the one they had.
    for (from, to) in [(&alice, &bob), (&bob, &alice)] {
        let (status, body) = direct(&app, from, to).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = app
            .post(
                "/api/chat/rooms/",
                Some(&from.access),
                json!({ "type": "direct", "members": [to.id] }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = app.send(from, &dm, "hello?").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    bob_socket
        .send(json!({ "action": "send", "room_id": dm, "message": "over the socket", "client_id": "c1" }))
        .await;
    let refused = bob_socket.next_of("error").await;
    assert_eq!(
        (refused["status"].as_u64(), refused["client_id"].as_str()),
        (Some(403), Some("c1")),
        "{refused}"
    );
    assert!(
        bob_socket.drain("message", QUIET).await.is_empty(),
        "nothing was stored in the direct room"
    );

    // The group they share goes on.
    let (status, _) = app.send(&bob, &group, "hi team").await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/users/blocks/{}/", bob.id),
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send(&bob, &dm, "friends again").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = direct(&app, &alice, &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get("/api/users/blocks/", &alice.access).await;
    assert_eq!(list, json!([]));
    Ok(())
}

#[tokio::test]
async fn neither_side_of_a_block_sees_the_others_presence() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let group = app.group(&carol, "team", &[&alice, &bob]).await;
    let (status, _) = block(&app, &bob, &alice.id).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut bob_socket = app.ws_user(&bob).await;
    let mut carol_socket = app.ws_user(&carol).await;

    let mut alice_socket = app.ws_user(&alice).await;
    let online = carol_socket.next_of("presence").await;
    assert_eq!(
        (online["user_id"].as_str(), online["status"].as_str()),
        (Some(alice.id.as_str()), Some("online"))
    );
    alice_socket
        .send(json!({ "action": "typing", "room_id": group, "is_typing": true }))
        .await;
    let typing = carol_socket.next_of("typing").await;
    assert_eq!(typing["user_id"], alice.id.as_str());
    let mut heard = Vec::new();
    while let Some(event) = bob_socket.next_within(QUIET).await {
        heard.push(event);
    }
    assert!(
        heard.iter().all(|e| e["user_id"] != alice.id.as_str()),
        "bob learnt of alice: {heard:?}"
    );

    let members = format!("/api/chat/rooms/{group}/members/");
    let (_, seen_by_carol) = app.get(&members, &carol.access).await;
    assert_eq!(member(&seen_by_carol, &alice)["user"]["is_online"], true);
    let (_, seen_by_bob) = app.get(&members, &bob.access).await;
    assert_eq!(member(&seen_by_bob, &alice)["user"]["is_online"], false);
    let (_, seen_by_alice) = app.get(&members, &alice.access).await;
    assert_eq!(
        member(&seen_by_alice, &bob)["user"]["is_online"],
        false,
        "the blocked side does not see the blocker either"
    );
    assert_eq!(member(&seen_by_alice, &carol)["user"]["is_online"], true);

    // Going offline is hidden the same way; the last seen time too.
    alice_socket.close().await;
    let offline = carol_socket.next_of("presence").await;
    assert_eq!(offline["status"], "offline");
    assert!(bob_socket.drain("presence", QUIET).await.is_empty());
    let (_, seen_by_bob) = app.get(&members, &bob.access).await;
    assert_eq!(
        member(&seen_by_bob, &alice)["user"]["last_seen"],
        Value::Null
    );
    let (_, seen_by_carol) = app.get(&members, &carol.access).await;
    assert!(member(&seen_by_carol, &alice)["user"]["last_seen"].is_string());
    Ok(())
}

#[tokio::test]
async fn bad_blocks_get_clean_errors() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;

    let (status, body) = block(&app, &alice, &alice.id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["user_id"].is_array(), "{body}");
    for bad in ["01KZZZZZZZZZZZZZZZZZZZZZZZ", "not-an-id", ""] {
        let (status, body) = block(&app, &alice, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert!(body["user_id"].is_array(), "{body}");
    }
    let (status, body) = app
        .post(
            "/api/users/blocks/",
            Some(&alice.access),
            json!({ "user_id": 7 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/users/blocks/not%20an%20id/",
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not the shape of an id");
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/users/blocks/01KZZZZZZZZZZZZZZZZZZZZZZZ/",
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "not blocked: nothing to do");
    let (status, _) = app
        .post("/api/users/blocks/", None, json!({ "user_id": alice.id }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::GET, "/api/users/blocks/", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}
