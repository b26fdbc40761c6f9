//! The local gateway holds sockets to API Gateway's limits (idle time,
//! connection lifetime, frame and message size), so that clients meet them
//! on a laptop: each close is followed by `$disconnect`, and a reconnect with
//! `sync` loses nothing.

use std::time::Duration;

use chat_core::config::Settings;
use local_gateway::websocket::SocketLimits;
use serde_json::json;

use crate::support::{spawn_app_with_limits, TestApp, TestResult, User};

const GOING_AWAY: u16 = 1001;
const TOO_BIG: u16 = 1009;

async fn app_with(idle_secs: u64, max_secs: u64) -> TestApp {
    spawn_app_with_limits(
        Settings::default(),
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
