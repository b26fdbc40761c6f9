//! A socket belongs to the login session whose access token opened it:
//! ending the session (logout, a replayed refresh token) closes it, and it
//! lives no longer than its token.

use std::time::Duration;

use chat_core::config::Settings;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_app, spawn_app_with, TestResult, User, EVENT_WAIT, PASSWORD};

/// A second login of `user`: another session with its own tokens.
async fn second_session(app: &crate::support::TestApp, user: &User) -> TestResult<User> {
    let (status, tokens) = app.login(&user.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    Ok(User {
        access: tokens["access"].as_str().ok_or("access")?.to_owned(),
        refresh: tokens["refresh"].as_str().ok_or("refresh")?.to_owned(),
        ..user.clone()
    })
}

#[tokio::test]
async fn logging_out_closes_that_sessions_sockets_and_no_other() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&bob, "team", &[&alice]).await;
    let laptop = second_session(&app, &alice).await?;
    let mut phone_socket = app.ws_user(&alice).await;
    let mut laptop_socket = app.ws_user(&laptop).await;

    let (status, _) = app
        .post(
            "/api/users/logout/",
            None,
            json!({ "refresh": alice.refresh }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        phone_socket.ends_within(EVENT_WAIT).await,
        "the logged-out session's socket is closed"
    );
    assert_eq!(
        app.ws(&format!("/ws/?token={}", alice.access)).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "no new socket with the ended session's access token"
    );

    let (status, _) = app.send(&bob, &room, "still there?").await;
    assert_eq!(status, StatusCode::CREATED);
    let event = laptop_socket.next_of("message").await;
    assert_eq!(event["message"], "still there?");
    Ok(())
}

#[tokio::test]
async fn a_replayed_refresh_token_closes_that_sessions_sockets() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut socket = app.ws_user(&alice).await;
    let (status, _) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    // Replayed by someone else, later: the whole session ends.
    app.clock.advance_secs(120);
    let thief = crate::support::client_from("127.0.0.2");
    let replay = thief
        .post(app.url("/api/users/token/refresh/"))
        .json(&json!({ "refresh": alice.refresh }))
        .send()
        .await?;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(socket.ends_within(EVENT_WAIT).await);
    Ok(())
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires() -> TestResult {
    let app = spawn_app_with(Settings {
        access_ttl_secs: 2,
        ..crate::support::settings()
    })
    .await;
    let alice = app.user("alice").await;
    let mut socket = app.ws_user(&alice).await;
    assert_eq!(
        socket.close_code(Duration::from_secs(6)).await,
        Some(1008),
        "closed with 1008 when the token expires"
    );
    Ok(())
}

#[tokio::test]
async fn a_frame_after_the_token_expired_is_answered_and_the_socket_closed() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&bob, "team", &[&alice]).await;
    let mut socket = app.ws_user(&alice).await;
    app.clock.advance_secs(3600);
    // Past its token's hour the socket is no longer a recipient...
    let bob = second_session(&app, &bob).await?;
    let (status, _) = app.send(&bob, &room, "anyone?").await;
    assert_eq!(status, StatusCode::CREATED);
    // ...and what it says is answered with the reason, then it is closed.
    socket.send(json!({ "action": "ping" })).await;
    let event = socket
        .next_within(EVENT_WAIT)
        .await
        .ok_or("an answer before the close")?;
    assert_eq!(event["type"], "error", "{event}");
    assert_eq!(event["code"], "not_connected", "{event}");
    assert!(socket.ends_within(EVENT_WAIT).await);
    Ok(())
}

/// Presents `token` to the refresh route from `client`.
async fn refresh_from(
    app: &crate::support::TestApp,
    client: &reqwest::Client,
    token: &str,
) -> TestResult<(StatusCode, serde_json::Value)> {
    let response = client
        .post(app.url("/api/users/token/refresh/"))
        .json(&json!({ "refresh": token }))
        .send()
        .await?;
    Ok((response.status(), response.json().await?))
}

#[tokio::test]
async fn two_tabs_refreshing_with_one_token_both_stay_signed_in() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let browser = reqwest::Client::new();
    let (first, second) = tokio::join!(
        refresh_from(&app, &browser, &alice.refresh),
        refresh_from(&app, &browser, &alice.refresh)
    );
    let (first, second) = (first?, second?);
    assert_eq!(
        (first.0, second.0),
        (StatusCode::OK, StatusCode::OK),
        "{first:?} {second:?}"
    );
    for tab in [&first.1, &second.1] {
        let access = tab["access"].as_str().ok_or("access")?;
        let (status, _) = app.get("/api/users/profile/", access).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Each tab goes on refreshing with what it got.
    let later = refresh_from(
        &app,
        &browser,
        first.1["refresh"].as_str().ok_or("refresh")?,
    )
    .await?;
    assert_eq!(later.0, StatusCode::OK, "{later:?}");
    Ok(())
}

#[tokio::test]
async fn within_the_grace_window_a_replay_from_another_client_still_ends_the_session() -> TestResult
{
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, rotated) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let thief = crate::support::client_from("127.0.0.2");
    let (status, _) = refresh_from(&app, &thief, &alice.refresh).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.refresh(rotated["refresh"].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session is over");
    Ok(())
}

#[tokio::test]
async fn after_the_grace_window_the_same_client_replaying_ends_the_session() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, rotated) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance_secs(11);
    let (status, _) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.refresh(rotated["refresh"].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session is over");
    Ok(())
}
