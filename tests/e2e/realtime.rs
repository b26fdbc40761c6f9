//! Real-time messaging over WebSocket: real clients against the local gateway.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_app, TestResult};

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn two_users_in_a_room_receive_each_others_messages() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let mut a = app.ws_room(&alice, &room).await;
    let mut b = app.ws_room(&bob, &room).await;

    a.send(json!({ "message": "Hello, World!" })).await;
    let got = b.next_of("message").await;
    assert_eq!(got["message"], "Hello, World!");
    assert_eq!(got["sender"], "alice");
    assert_eq!(got["sender_id"], alice.id.as_str());
    assert_eq!(got["room_id"], room.as_str());
    assert!(got["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(got["id"].is_string());
    let echo = a.next_of("message").await;
    assert_eq!(echo["id"], got["id"], "the sender's socket gets it too");

    b.send(json!({ "action": "send", "message": "Hi Alice" }))
        .await;
    assert_eq!(a.next_of("message").await["message"], "Hi Alice");

    // Stored once each, visible in history.
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &alice.access)
        .await;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test]
async fn rest_messages_arrive_and_a_user_socket_hears_every_room() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let first = app.group(&alice, "First", &[&bob]).await;
    let second = app.group(&alice, "Second", &[&bob]).await;
    let elsewhere = app.group(&alice, "Elsewhere", &[]).await;
    let mut b = app.ws_user(&bob).await;

    app.send(&alice, &first, "in first").await;
    app.send(&alice, &second, "in second").await;
    app.send(&alice, &elsewhere, "not for bob").await;
    let got: Vec<String> = b
        .drain("message", QUIET)
        .await
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["room_id"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![format!("{first}:in first"), format!("{second}:in second")]
    );

    // A per-user socket names the room it sends to.
    b.send(json!({ "action": "send", "room_id": second, "message": "from socket" }))
        .await;
    assert_eq!(b.next_of("message").await["message"], "from socket");
    b.send(json!({ "action": "send", "message": "where?" }))
        .await;
    let error = b.next_of("error").await;
    assert!(error["fields"]["room_id"].is_array(), "{error}");
    b.send(json!({ "action": "send", "room_id": elsewhere, "message": "sneak" }))
        .await;
    assert_eq!(b.next_of("error").await["code"], "not_found");
    Ok(())
}

#[tokio::test]
async fn connections_without_a_valid_token_or_membership_are_refused() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    let room = app.group(&alice, "Team", &[]).await;
    assert_eq!(
        app.ws(&format!("/ws/chat/{room}/")).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        app.ws(&format!("/ws/chat/{room}/?token=garbage"))
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        app.ws(&format!("/ws/chat/{room}/?token={}", mallory.access))
            .await
            .err(),
        Some(StatusCode::FORBIDDEN),
        "not a member"
    );
    assert_eq!(
        app.ws(&format!("/ws/chat/NOSUCHROOM/?token={}", alice.access))
            .await
            .err(),
        Some(StatusCode::FORBIDDEN)
    );
    assert_eq!(
        app.ws(&format!("/ws/?token={}", alice.refresh)).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "a refresh token is not an access token"
    );
    app.clock.advance_secs(3600);
    assert_eq!(
        app.ws(&format!("/ws/?token={}", alice.access)).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "expired"
    );
    // Nothing was stored: alice is not online.
    let (_, tokens) = app.login(&alice.email, crate::support::PASSWORD).await;
    let (_, me) = app
        .get(
            "/api/users/profile/",
            tokens["access"].as_str().ok_or("access")?,
        )
        .await;
    assert_eq!(me["is_online"], false);
    Ok(())
}

#[tokio::test]
async fn a_repeated_client_id_stores_once_and_sends_once() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let mut a = app.ws_room(&alice, &room).await;
    let mut b = app.ws_room(&bob, &room).await;
    let frame = json!({ "action": "send", "message": "once", "client_id": "abc-1" });
    a.send(frame.clone()).await;
    a.send(frame).await;
    // A socket's frames are served in order: after the pong, both sends were.
    a.send(json!({ "action": "ping" })).await;
    let mut echoes = 0;
    loop {
        let event = a
            .next_within(Duration::from_secs(30))
            .await
            .ok_or("no pong")?;
        match event["type"].as_str() {
            Some("message") => echoes += 1,
            Some("pong") => break,
            _ => {}
        }
    }
    assert_eq!(echoes, 1, "the sender's own socket hears it once");
    assert_eq!(b.drain("message", QUIET).await.len(), 1);
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access)
        .await;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn presence_follows_the_first_and_last_connection() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.group(&alice, "Team", &[&bob]).await;
    let mut watcher = app.ws_user(&bob).await;

    let phone = app.ws_user(&alice).await;
    let online = watcher.next_of("presence").await;
    assert_eq!(online["user_id"], alice.id.as_str());
    assert_eq!(online["status"], "online");
    let laptop = app.ws_user(&alice).await;
    assert!(
        watcher.drain("presence", QUIET).await.is_empty(),
        "second device: no event"
    );
    let (_, members) = app.get("/api/chat/rooms/", &bob.access).await;
    let room = members[0]["id"].as_str().ok_or("room")?.to_owned();
    let (_, members) = app
        .get(&format!("/api/chat/rooms/{room}/members/"), &bob.access)
        .await;
    let alice_row = members
        .as_array()
        .and_then(|m| m.iter().find(|m| m["user"]["id"] == alice.id.as_str()))
        .ok_or("alice row")?;
    assert_eq!(alice_row["user"]["is_online"], true);

    phone.close().await;
    assert!(
        watcher.drain("presence", QUIET).await.is_empty(),
        "still on the laptop"
    );
    laptop.close().await;
    let offline = watcher.next_of("presence").await;
    assert_eq!(offline["status"], "offline");
    assert!(offline["last_seen"].is_string());

    // An abrupt kill (no close frame) also ends presence.
    let killed = app.ws_user(&alice).await;
    assert_eq!(watcher.next_of("presence").await["status"], "online");
    drop(killed);
    assert_eq!(watcher.next_of("presence").await["status"], "offline");
    let (_, me) = app.get("/api/users/profile/", &alice.access).await;
    assert_eq!(me["is_online"], false);
    assert!(me["last_seen"].is_string());
    Ok(())
}

#[tokio::test]
async fn delivery_and_read_status_flow_back_to_the_sender() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let (_, offline_msg) = app.send(&alice, &room, "while bob is away").await;
    app.clock.advance_millis(1);
    assert_eq!(
        history(&app, &room, &alice.access).await,
        vec![("while bob is away".to_owned(), "sent".to_owned())],
        "not pushed to anyone yet"
    );
    let mut a = app.ws_room(&alice, &room).await;
    let mut b = app.ws_room(&bob, &room).await;

    a.send(json!({ "message": "are you there?" })).await;
    let received = b.next_of("message").await;
    let echo = a.next_of("message").await;
    assert_eq!(echo["id"], received["id"]);
    assert!(
        received.get("delivered_to").is_none(),
        "only the sender's echo says it"
    );
    if crate::support::backend() == "redis" {
        // Each process pushes to the sockets it holds and reports what it
        // reached: the sender hears it as a receipt.
        assert!(echo.get("delivered_to").is_none(), "{echo}");
        let delivered = a.next_of("receipt").await;
        assert_eq!(delivered["status"], "delivered");
        assert_eq!(delivered["message_id"], received["id"]);
        assert_eq!(delivered["user_ids"], json!([bob.id]));
    } else {
        // One frame: the echo says whom it reached, no receipt follows.
        assert_eq!(echo["delivered_to"], json!([bob.id]), "{echo}");
        while let Some(event) = a.next_within(Duration::from_millis(300)).await {
            assert_ne!(
                event["type"], "receipt",
                "no receipt after the echo: {event}"
            );
        }
    }

    assert_eq!(
        history(&app, &room, &alice.access).await,
        vec![
            ("are you there?".to_owned(), "delivered".to_owned()),
            ("while bob is away".to_owned(), "delivered".to_owned()),
        ],
        "watermarks are cumulative: bob's device is up to date"
    );

    b.send(json!({ "action": "read", "message_id": received["id"] }))
        .await;
    let read = a.next_of("receipt").await;
    assert_eq!(read["status"], "read");
    assert_eq!(read["user_ids"], json!([bob.id]));
    assert_eq!(
        history(&app, &room, &alice.access).await,
        vec![
            ("are you there?".to_owned(), "read".to_owned()),
            ("while bob is away".to_owned(), "read".to_owned()),
        ],
        "a read watermark covers older messages"
    );
    assert!(offline_msg["id"].is_string());
    // Reading a message of another room is refused.
    b.send(json!({ "action": "read", "message_id": "01JD0000000000000000000000" }))
        .await;
    assert_eq!(b.next_of("error").await["code"], "invalid");
    Ok(())
}

#[tokio::test]
async fn typing_reaches_the_others_only() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let mut a = app.ws_room(&alice, &room).await;
    let mut b = app.ws_room(&bob, &room).await;
    a.send(json!({ "action": "typing" })).await;
    let typing = b.next_of("typing").await;
    assert_eq!(typing["user_id"], alice.id.as_str());
    assert_eq!(typing["is_typing"], true);
    assert!(a.drain("typing", QUIET).await.is_empty());
    Ok(())
}

#[tokio::test]
async fn oversize_and_malformed_frames_get_errors_and_the_socket_lives_on() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "Team", &[]).await;
    let mut a = app.ws_room(&alice, &room).await;
    a.send_text("{not json".into()).await;
    assert_eq!(a.next_of("error").await["code"], "invalid_json");
    a.send_text("[1,2]".into()).await;
    assert_eq!(a.next_of("error").await["code"], "invalid_frame");
    a.send(json!({ "action": "dance" })).await;
    assert!(a.next_of("error").await["fields"]["action"].is_array());
    a.send(json!({ "message": "y".repeat(4001), "client_id": "big" }))
        .await;
    let error = a.next_of("error").await;
    assert!(error["fields"]["message"].is_array());
    assert_eq!(error["client_id"], "big", "errors echo the client id");
    a.send(json!({ "message": 42 })).await;
    assert!(a.next_of("error").await["fields"]["message"].is_array());
    a.send(json!({ "action": "ping" })).await;
    a.next_of("pong").await;
    a.send(json!({ "message": "still here" })).await;
    assert_eq!(a.next_of("message").await["message"], "still here");
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &alice.access)
        .await;
    assert_eq!(
        page["results"].as_array().map(Vec::len),
        Some(1),
        "no bad frame was stored"
    );
    Ok(())
}

#[tokio::test]
async fn fifty_clients_ten_bursting_senders_every_message_once_everywhere() -> TestResult {
    const CLIENTS: usize = 50;
    const SENDERS: usize = 10;
    const PER_SENDER: usize = 20;
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..CLIENTS {
        users.push(app.user(&format!("user{i}")).await);
    }
    let others: Vec<&crate::support::User> = users[1..].iter().collect();
    let room = app.group(&users[0], "Crowd", &others).await;
    let mut sockets = Vec::new();
    for user in &users {
        sockets.push(app.ws_room(user, &room).await);
    }
    // Let the presence events of the joins settle.
    for socket in &mut sockets {
        socket.drain("presence", Duration::from_millis(20)).await;
    }

    let (senders, listeners) = sockets.split_at_mut(SENDERS);
    let send_all = futures_util::future::join_all(senders.iter_mut().enumerate().map(
        |(s, socket)| async move {
            for k in 0..PER_SENDER {
                socket
                    .send(json!({ "message": format!("s{s}-k{k}"), "client_id": format!("s{s}-k{k}") }))
                    .await;
            }
        },
    ));
    send_all.await;

    let total = SENDERS * PER_SENDER;
    let mut all_sockets: Vec<&mut crate::support::WsClient> =
        senders.iter_mut().chain(listeners.iter_mut()).collect();
    let counts = futures_util::future::join_all(all_sockets.iter_mut().map(|socket| async move {
        let mut seen: HashMap<String, usize> = HashMap::new();
        while seen.len() < total {
            let Some(event) = socket.next_within(Duration::from_secs(30)).await else {
                break;
            };
            if event["type"] == "message" {
                *seen
                    .entry(event["message"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        for event in socket.drain("message", QUIET).await {
            *seen
                .entry(event["message"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        seen
    }))
    .await;
    for (i, seen) in counts.iter().enumerate() {
        assert_eq!(
            seen.len(),
            total,
            "client {i} lost {} messages",
            total - seen.len()
        );
        let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            duplicated.is_empty(),
            "client {i} got duplicates: {duplicated:?}"
        );
    }
    // Stored exactly once each.
    let mut stored = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/chat/rooms/{room}/messages/?limit=100&before={c}"),
            None => format!("/api/chat/rooms/{room}/messages/?limit=100"),
        };
        let (_, page) = app.get(&path, &users[0].access).await;
        stored += page["results"].as_array().map(Vec::len).unwrap_or_default();
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(stored, total);
    Ok(())
}

#[tokio::test]
async fn the_management_api_posts_to_and_closes_connections() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut a = app.ws_user(&alice).await;
    let path = app.connection_path(&alice).await?;
    let post = app
        .client
        .post(app.url(&format!("/prod{path}")))
        .body(r#"{"type":"hello"}"#)
        .send()
        .await?;
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(a.next_of("hello").await["type"], "hello");
    let gone = app
        .client
        .post(app.url("/@connections/nope"))
        .body("{}")
        .send()
        .await?;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert_eq!(gone.headers()["x-amzn-errortype"], "GoneException");
    let delete = app.client.delete(app.url(&path)).send().await?;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert!(
        a.next_within(Duration::from_secs(2)).await.is_none(),
        "socket closed"
    );
    Ok(())
}

/// (text, status) of the room's history, newest first, as `token`'s owner sees it.
async fn history(app: &crate::support::TestApp, room: &str, token: &str) -> Vec<(String, String)> {
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), token)
        .await;
    page["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|m| {
                    (
                        m["message"].as_str().unwrap_or_default().to_owned(),
                        m["status"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Two gateway processes of one deployment (two apps on one Redis prefix):
/// `@connections` on either posts to and closes a socket the other holds,
/// and answers 410 once it is gone.
#[tokio::test]
async fn the_management_api_reaches_sockets_held_by_another_process() -> TestResult {
    let prefix = chat_tests::unique("chat");
    let holder = crate::support::spawn_app_on_redis(&prefix).await;
    let other = crate::support::spawn_app_on_redis(&prefix).await;
    let alice = holder.user("alice").await;
    let mut socket = holder.ws_user(&alice).await;
    let url = other.url(&holder.connection_path(&alice).await?);
    assert_eq!(
        other.client.get(&url).send().await?.status(),
        StatusCode::OK
    );
    let post = other
        .client
        .post(&url)
        .body(r#"{"type":"hello"}"#)
        .send()
        .await?;
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(socket.next_of("hello").await["type"], "hello");
    let delete = other.client.delete(&url).send().await?;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert!(
        socket.next_within(Duration::from_secs(2)).await.is_none(),
        "socket closed"
    );
    let mut gone = StatusCode::OK;
    for _ in 0..40 {
        gone = other.client.post(&url).body("{}").send().await?.status();
        if gone == StatusCode::GONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gone, StatusCode::GONE);
    Ok(())
}

/// Two gateway processes of one deployment: a message stored through one
/// is published once, by the script that stores it, and each process
/// pushes it to the sockets it holds: every socket of every member gets it
/// exactly once, and the sender hears that it reached the other member.
#[tokio::test]
async fn a_message_stored_through_one_process_reaches_sockets_on_both_once() -> TestResult {
    let prefix = chat_tests::unique("chat");
    let first = crate::support::spawn_app_on_redis(&prefix).await;
    let second = crate::support::spawn_app_on_redis(&prefix).await;
    let alice = first.user("alice").await;
    let bob = first.user("bob").await;
    let room = first.group(&alice, "Both", &[&bob]).await;
    let mut alice_here = first.ws_user(&alice).await;
    let mut bob_here = first.ws_room(&bob, &room).await;
    let mut bob_there = second.ws_user(&bob).await;
    let (status, _) = first.send(&alice, &room, "hello both").await;
    assert_eq!(status, StatusCode::CREATED);

    for socket in [&mut bob_here, &mut bob_there] {
        let messages = socket.drain("message", QUIET).await;
        let texts: Vec<&str> = messages
            .iter()
            .filter_map(|m| m["message"].as_str())
            .collect();
        assert_eq!(texts, ["hello both"]);
    }
    let mut messages = 0;
    let mut reached = Vec::new();
    while let Some(event) = alice_here.next_within(QUIET).await {
        match event["type"].as_str() {
            Some("message") => messages += 1,
            Some("receipt") => {
                assert_eq!(event["status"], "delivered");
                reached.extend(event["user_ids"].as_array().cloned().unwrap_or_default());
            }
            _ => {}
        }
    }
    assert_eq!(messages, 1, "the sender's own socket gets its message once");
    assert!(
        reached.contains(&json!(bob.id)),
        "delivered to bob: {reached:?}"
    );
    Ok(())
}
