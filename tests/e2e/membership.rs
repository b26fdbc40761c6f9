//! What leaving a room does to the sockets: a removed member's sockets for
//! that room close at once, their other sockets stop hearing the room.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::support::{spawn_app, TestResult};

#[tokio::test]
async fn a_removed_members_room_sockets_close_at_once() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let team = app.group(&alice, "team", &[&bob, &carol]).await;
    let other = app.group(&alice, "other", &[&bob]).await;
    let mut bob_team = app.ws_room(&bob, &team).await;
    let mut bob_other = app.ws_room(&bob, &other).await;
    let mut bob_all = app.ws_user(&bob).await;
    let mut carol_team = app.ws_room(&carol, &team).await;

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/chat/rooms/{team}/members/{}/", bob.id),
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        bob_team.ends_within(Duration::from_secs(5)).await,
        "the removed member's socket for the room stays open"
    );

    let (status, _) = app.send(&alice, &team, "after bob left").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        carol_team.next_of("message").await["message"],
        "after bob left"
    );
    // Bob's socket for all his rooms stays open and no longer hears the room.
    let (status, _) = app.send(&alice, &other, "still with bob").await;
    assert_eq!(status, StatusCode::CREATED);
    let heard = bob_all.drain("message", Duration::from_millis(500)).await;
    let texts: Vec<&str> = heard.iter().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(texts, ["still with bob"]);
    assert_eq!(
        bob_other.next_of("message").await["message"],
        "still with bob"
    );

    // Leaving closes the leaver's room sockets too.
    let mut carol_again = app.ws_room(&carol, &team).await;
    let (status, _) = app
        .post(
            &format!("/api/chat/rooms/{team}/leave/"),
            Some(&carol.access),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(carol_again.ends_within(Duration::from_secs(5)).await);
    assert!(carol_team.ends_within(Duration::from_secs(5)).await);
    Ok(())
}
