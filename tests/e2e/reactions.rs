//! Reactions: one per member per emoji, counted on the message with whether
//! the reader reacted, pushed live and caught up after a reconnect.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::edits::{message_path, sent, sync_all};
use crate::support::{spawn_app, TestApp, User};

async fn react(
    app: &TestApp,
    user: &User,
    room: &str,
    message: &str,
    emoji: &str,
) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("{}reactions/", message_path(room, message)),
        Some(&user.access),
        Some(json!({ "emoji": emoji })),
    )
    .await
}

async fn unreact(
    app: &TestApp,
    user: &User,
    room: &str,
    message: &str,
    emoji: &str,
) -> (StatusCode, Value) {
    let mut url = reqwest::Url::parse("http://query.invalid/").expect("url");
    url.query_pairs_mut().append_pair("emoji", emoji);
    let query = url.query().unwrap_or_default().to_owned();
    app.call(
        Method::DELETE,
        &format!("{}reactions/?{query}", message_path(room, message)),
        Some(&user.access),
        None,
    )
    .await
}

fn counts(message: &Value) -> Value {
    message
        .get("reactions")
        .cloned()
        .unwrap_or_else(|| json!([]))
}

#[tokio::test]
async fn reactions_reach_each_member_with_their_own_view_and_after_a_reconnect(
) -> crate::support::TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let room = app.group(&alice, "team", &[&bob, &carol]).await;
    let hello = sent(&app, &alice, &room, "hello").await?;
    let mut alice_socket = app.ws_user(&alice).await;
    let mut bob_socket = app.ws_user(&bob).await;

    let (status, reacted) = react(&app, &bob, &room, &hello, "👍").await;
    assert_eq!(status, StatusCode::OK, "{reacted}");
    assert_eq!(
        counts(&reacted),
        json!([{ "emoji": "👍", "count": 1, "me": true }])
    );
    assert_eq!(reacted["change"], 1);
    // Each member's sockets see whether they reacted themselves.
    let live = alice_socket.next_of("message_updated").await;
    assert_eq!(live["id"], hello.as_str());
    assert_eq!(
        counts(&live),
        json!([{ "emoji": "👍", "count": 1, "me": false }])
    );
    let live = bob_socket.next_of("message_updated").await;
    assert_eq!(
        counts(&live),
        json!([{ "emoji": "👍", "count": 1, "me": true }])
    );

    let (_, reacted) = react(&app, &alice, &room, &hello, "👍").await;
    assert_eq!(
        counts(&reacted),
        json!([{ "emoji": "👍", "count": 2, "me": true }])
    );
    // "❤" and "❤️" are one emoji: the second reaction changes nothing.
    let (status, reacted) = react(&app, &bob, &room, &hello, "\u{2764}").await;
    assert_eq!(status, StatusCode::OK, "{reacted}");
    let (status, again) = react(&app, &bob, &room, &hello, "\u{2764}\u{FE0F}").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(counts(&again), counts(&reacted));
    assert_eq!(again["change"], reacted["change"], "nothing was numbered");
    assert_eq!(
        counts(&again),
        json!([
            { "emoji": "👍", "count": 2, "me": true },
            { "emoji": "\u{2764}\u{FE0F}", "count": 1, "me": true },
        ])
    );

    let (status, taken_back) = unreact(&app, &bob, &room, &hello, "👍").await;
    assert_eq!(status, StatusCode::OK, "{taken_back}");
    assert_eq!(
        counts(&taken_back),
        json!([
            { "emoji": "👍", "count": 1, "me": false },
            { "emoji": "\u{2764}\u{FE0F}", "count": 1, "me": true },
        ])
    );
    // Taking back what is not there changes nothing and pushes nothing.
    let (status, unchanged) = unreact(&app, &carol, &room, &hello, "👍").await;
    assert_eq!(status, StatusCode::OK, "{unchanged}");
    assert_eq!(unchanged["change"], taken_back["change"]);
    let updates = bob_socket
        .drain("message_updated", std::time::Duration::from_millis(500))
        .await;
    assert_eq!(
        updates.len(),
        3,
        "alice's 👍, bob's ❤️, bob's 👍 back: {updates:?}"
    );
    assert_eq!(counts(&updates[2]), counts(&taken_back));

    // History shows them as its reader sees them.
    let (status, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &alice.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        counts(&page["results"][0]),
        json!([
            { "emoji": "👍", "count": 1, "me": true },
            { "emoji": "\u{2764}\u{FE0F}", "count": 1, "me": false },
        ])
    );

    // Carol was offline: the catch-up brings the message once, as it is now.
    let mut carol_socket = app.ws_user(&carol).await;
    let (events, synced) = sync_all(&mut carol_socket, &room).await?;
    let updated: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "message_updated")
        .collect();
    assert_eq!(updated.len(), 1, "{events:?}");
    assert_eq!(
        counts(updated[0]),
        json!([
            { "emoji": "👍", "count": 1, "me": false },
            { "emoji": "\u{2764}\u{FE0F}", "count": 1, "me": false },
        ])
    );
    assert_eq!(synced["last_change"], taken_back["change"], "{synced}");
    Ok(())
}

#[tokio::test]
async fn only_members_react_and_bad_reactions_get_clean_errors() -> crate::support::TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dave = app.user("dave").await;
    let room = app.group(&alice, "team", &[&bob]).await;
    let hello = sent(&app, &alice, &room, "hello").await?;

    let (status, _) = react(&app, &dave, &room, &hello, "👍").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an outsider does not learn the room exists"
    );
    let (status, _) = unreact(&app, &dave, &room, &hello, "👍").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for bad in ["", "thumbsup", ":+1:", "👍👍", "x", "<script>"] {
        let (status, body) = react(&app, &bob, &room, &hello, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert!(body["emoji"].is_array(), "{bad:?}: {body}");
        let (status, body) = unreact(&app, &bob, &room, &hello, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
    }
    for body in [json!({}), json!({ "emoji": 1 }), json!({ "emoji": ["👍"] })] {
        let (status, answer) = app
            .call(
                Method::POST,
                &format!("{}reactions/", message_path(&room, &hello)),
                Some(&bob.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("{}reactions/", message_path(&room, &hello)),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the emoji is required");

    let unknown = "01KZZZZZZZZZZZZZZZZZZZZZZZ";
    let (status, _) = react(&app, &bob, &room, unknown, "👍").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = react(&app, &bob, &room, "not-an-id", "👍").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("{}reactions/", message_path(&room, &hello)),
            None,
            Some(json!({ "emoji": "👍" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // At most 20 different emojis on a message; one already there still counts.
    let emojis = [
        "😀", "😂", "😍", "😎", "😢", "😡", "🙏", "🔥", "🎉", "💯", "✅", "👀", "🚀", "🤔", "👏",
        "😅", "🙌", "💪", "🤝", "🍕",
    ];
    for emoji in emojis {
        let (status, body) = react(&app, &bob, &room, &hello, emoji).await;
        assert_eq!(status, StatusCode::OK, "{emoji}: {body}");
    }
    let (status, body) = react(&app, &bob, &room, &hello, "🍔").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = react(&app, &alice, &room, &hello, "🍕").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["reactions"][19],
        json!({ "emoji": "🍕", "count": 2, "me": true })
    );

    // A deleted message takes no reactions and shows none.
    let (status, _) = app
        .call(
            Method::DELETE,
            &message_path(&room, &hello),
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = react(&app, &bob, &room, &hello, "👍").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access)
        .await;
    assert_eq!(counts(&page["results"][0]), json!([]));
    Ok(())
}
