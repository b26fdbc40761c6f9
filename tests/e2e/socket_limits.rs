//! The local gateway holds sockets to API Gateway's limits (idle time,
//! connection lifetime, frame and message size), so that clients meet them
//! on a laptop: each close is followed by `$disconnect`, and a reconnect with
//! `sync` loses nothing.

use std::time::Duration;

use chat_core::config::Settings;
use local_gateway::websocket::SocketLimits;
use serde_json::json;

use crate::support::{spawn_app_with_limits, spawn_app_with_queue, TestApp, TestResult, User};

const GOING_AWAY: u16 = 1001;
const TOO_BIG: u16 = 1009;
const INVALID_PAYLOAD: u16 = 1007;
const TRY_AGAIN_LATER: u16 = 1013;

async fn app_with(idle_secs: u64, max_secs: u64) -> TestApp {
    spawn_app_with_limits(
        crate::support::settings(),
        SocketLimits {
            idle_timeout: Duration::from_secs(idle_secs),
            max_duration: Duration::from_secs(max_secs),
        },
    )
    .await
}

/// How many live connections `user` has, as the store sees them.
async fn connections(app: &TestApp, user: &User) -> TestResult<usize> {
    let id = chat_core::domain::UserId::parse(&user.id).ok_or("id")?;
    Ok(app
        .ctx
        .connections
        .connections_of(&[id], app.ctx.clock.now())
        .await?
        .len())
}

/// Waits (up to two seconds) for `user` to have `count` connections.
async fn until_connections(app: &TestApp, user: &User, count: usize) -> TestResult<usize> {
    for _ in 0..40 {
        let now = connections(app, user).await?;
        if now == count {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connections(app, user).await
}

#[tokio::test]
async fn an_idle_socket_is_closed_and_disconnected_and_a_reconnect_loses_nothing() -> TestResult {
    let app = app_with(1, 60).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let started = tokio::time::Instant::now();
    let mut socket = app.ws_user(&bob).await;
    assert_eq!(connections(&app, &bob).await?, 1);
    assert_eq!(
        socket.close_code(Duration::from_secs(5)).await,
        Some(GOING_AWAY)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the idle time"
    );
    assert_eq!(
        until_connections(&app, &bob, 0).await?,
        0,
        "$disconnect ran"
    );

    app.send(&alice, &room, "while closed").await;
    let mut socket = app.ws_user(&bob).await;
    socket
        .send(json!({ "action": "sync", "room_id": room, "after_seq": 0 }))
        .await;
    assert_eq!(socket.next_of("message").await["message"], "while closed");
    assert_eq!(socket.next_of("synced").await["last_seq"], 1);
    Ok(())
}

#[tokio::test]
async fn traffic_keeps_a_socket_open_until_its_lifetime_ends() -> TestResult {
    let app = app_with(1, 3).await;
    let alice = app.user("alice").await;
    let mut socket = app.ws_user(&alice).await;
    let started = tokio::time::Instant::now();
    // A ping every 400 ms keeps it from idling out...
    let code = loop {
        socket.send(json!({ "action": "ping" })).await;
        match socket.close_code(Duration::from_millis(400)).await {
            Some(code) => break code,
            None => assert!(started.elapsed() < Duration::from_secs(6), "never closed"),
        }
    };
    // ... but not past its lifetime.
    assert_eq!(code, GOING_AWAY);
    assert!(started.elapsed() >= Duration::from_millis(2_900));
    assert_eq!(
        until_connections(&app, &alice, 0).await?,
        0,
        "$disconnect ran"
    );
    Ok(())
}

#[tokio::test]
async fn frames_over_32_kb_and_messages_over_128_kb_close_with_1009() -> TestResult {
    let app = app_with(60, 60).await;
    let alice = app.user("alice").await;
    let mut socket = app.ws_user(&alice).await;
    socket.send_text("x".repeat(129 * 1024)).await;
    assert_eq!(
        socket.close_code(Duration::from_secs(5)).await,
        Some(TOO_BIG)
    );
    assert_eq!(
        until_connections(&app, &alice, 0).await?,
        0,
        "$disconnect ran"
    );

    let mut socket = app.ws_user(&alice).await;
    socket.send_text("x".repeat(33 * 1024)).await;
    assert_eq!(
        socket.close_code(Duration::from_secs(5)).await,
        Some(TOO_BIG)
    );

    // Binary frames stop at the same size as text ones.
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};
    use tokio_tungstenite::tungstenite::Message;
    let mut socket = app.ws_user(&alice).await;
    socket
        .send_message(Message::Binary(vec![b'x'; 32 * 1024 + 1].into()))
        .await;
    assert_eq!(
        socket.close_code(Duration::from_secs(5)).await,
        Some(TOO_BIG)
    );
    // A text frame that is not UTF-8 gets a close frame too (1007).
    let mut socket = app.ws_user(&alice).await;
    let invalid = Frame::message(vec![0xff, 0xfe, b'{'], OpCode::Data(Data::Text), true);
    socket.send_message(Message::Frame(invalid)).await;
    assert_eq!(
        socket.close_code(Duration::from_secs(5)).await,
        Some(INVALID_PAYLOAD)
    );

    let socket = app.ws_user(&alice).await;
    let oversized = app
        .client
        .post(app.url(&app.connection_path(&alice).await?))
        .body(vec![b'x'; 129 * 1024])
        .send()
        .await?;
    assert_eq!(oversized.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        oversized.headers()["x-amzn-errortype"],
        "PayloadTooLargeException"
    );
    drop(socket);
    Ok(())
}

/// A client that stops reading fills its socket's bounded queue: from then
/// on it is neither reached nor online, its socket is closed with 1013 and
/// disconnected, and the others in the room get every message meanwhile.
#[tokio::test]
async fn a_socket_that_never_reads_is_given_up_and_the_room_carries_on() -> TestResult {
    if std::env::var("E2E_BACKEND").is_ok_and(|b| b == "aws") {
        // The queue is the gateway's, whatever the backend; on AWS it is
        // reached through `@connections`, whose 410 for a given-up socket is
        // the notifier contract's case. Filling the kernel's buffers first
        // takes ~700 sends, 80 s on the emulator.
        eprintln!("skipped on the AWS adapters: the same queue, reached through @connections");
        return Ok(());
    }
    let app = spawn_app_with_queue(
        crate::support::settings(),
        SocketLimits::default(),
        chat_core::adapters::QueueLimits {
            frames: 8,
            bytes: 64 * 1024,
        },
    )
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let room = app.group(&alice, "Flood", &[&bob, &carol]).await;
    let mut stuck = app.ws_stalled(&bob).await?;
    assert_eq!(until_connections(&app, &bob, 1).await?, 1);
    let mut carol_socket = app.ws_room(&carol, &room).await;
    let carol_reads =
        tokio::spawn(async move { carol_socket.drain("message", Duration::from_secs(3)).await });

    let text = "x".repeat(4000); // the longest message
    let mut sent = 0;
    while connections(&app, &bob).await? == 1 {
        assert!(sent < 3000, "bob's socket was never given up");
        for _ in 0..10 {
            let (status, _) = app.send(&alice, &room, &text).await;
            assert_eq!(status, reqwest::StatusCode::CREATED);
            sent += 1;
        }
    }
    println!("bob's socket was given up after {sent} messages");
    let (_, detail) = app
        .get(&format!("/api/chat/rooms/{room}/"), &alice.access)
        .await;
    let bob_online = detail["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["user"]["id"] == bob.id.as_str()))
        .map(|m| m["user"]["is_online"].clone());
    assert_eq!(bob_online, Some(json!(false)));
    assert_eq!(
        stuck.close_code(Duration::from_secs(10)).await,
        Some(TRY_AGAIN_LATER)
    );
    assert_eq!(carol_reads.await?.len(), sent, "carol got every message");
    Ok(())
}

/// One user holds at most `MAX_SOCKETS_PER_USER` sockets: one more is
/// refused with 429 and stores nothing, and closing one makes room.
#[tokio::test]
async fn a_user_holds_at_most_the_socket_cap() -> TestResult {
    let app = crate::support::spawn_app_with(Settings {
        max_sockets_per_user: 3,
        ..crate::support::settings()
    })
    .await;
    let alice = app.user("alice").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(app.ws_user(&alice).await);
    }
    let refused = app.ws(&format!("/ws/?token={}", alice.access)).await.err();
    assert_eq!(refused, Some(reqwest::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(
        connections(&app, &alice).await?,
        3,
        "the refused one is not kept"
    );
    if let Some(first) = open.pop() {
        first.close().await;
    }
    assert_eq!(until_connections(&app, &alice, 2).await?, 2);
    open.push(app.ws_user(&alice).await);
    assert_eq!(connections(&app, &alice).await?, 3);
    Ok(())
}
