//! A sender floods one room: past `SEND_MAX_PER_MINUTE` they are told to
//! wait, over REST and over WebSocket, and nobody else is.

use chat_core::config::Settings;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_app_with, TestResult};

#[tokio::test]
async fn a_sender_is_throttled_per_room_and_told_when_to_retry() -> TestResult {
    let app = spawn_app_with(Settings {
        send_max_per_minute: 3,
        ..crate::support::settings()
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Busy", &[&bob]).await;
    let other = app.group(&alice, "Other", &[&bob]).await;
    for i in 0..3 {
        let (status, _) = app.send(&alice, &room, &format!("m{i}")).await;
        assert_eq!(status, StatusCode::CREATED);
    }

    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/chat/rooms/{room}/messages/")))
        .bearer_auth(&alice.access)
        .json(&json!({ "message": "one too many" }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .ok_or("Retry-After")?
        .to_str()?
        .parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["code"], "throttled", "{body}");

    // The same limit over the socket, as an error event echoing the frame.
    let mut socket = app.ws_user(&alice).await;
    socket
        .send(json!({ "action": "send", "room_id": room, "message": "again", "client_id": "c9" }))
        .await;
    let error = socket.next_of("error").await;
    assert_eq!(
        (
            error["code"].as_str(),
            error["status"].as_u64(),
            error["client_id"].as_str()
        ),
        (Some("throttled"), Some(429), Some("c9")),
        "{error}"
    );

    // Per sender and per room: Bob, and Alice elsewhere, are not held up.
    let (status, _) = app.send(&bob, &room, "hi").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.send(&alice, &other, "hi").await;
    assert_eq!(status, StatusCode::CREATED);
    // A minute later she may speak again.
    app.clock.advance_secs(60);
    let (status, _) = app.send(&alice, &room, "back").await;
    assert_eq!(status, StatusCode::CREATED);
    Ok(())
}
