//! Nothing lost across reconnects: every message gets its room's next `seq`,
//! and a client that was away catches up with `last_seq`, `after_seq` and
//! the `sync` frame, exactly as the README tells it to.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User, WsClient};

/// The seqs of `messages`, in the order given.
fn seqs(messages: &[Value]) -> Vec<u64> {
    messages.iter().filter_map(|m| m["seq"].as_u64()).collect()
}

/// Every message of `room` after `after`, through `after_seq` pages of 50,
/// following `next`. Checks that each page is oldest first.
async fn catch_up_over_rest(app: &TestApp, user: &User, room: &str, after: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = after.to_string();
    loop {
        let (status, page) = app
            .get(
                &format!("/api/chat/rooms/{room}/messages/?after_seq={from}&limit=50"),
                &user.access,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let results = page["results"].as_array().cloned().unwrap_or_default();
        assert!(results.len() <= 50);
        let page_seqs = seqs(&results);
        assert!(page_seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
        out.extend(results);
        match page["next"].as_str() {
            Some(next) => from = next.to_owned(),
            None => return out,
        }
    }
}

/// The room's `last_seq` in the caller's rooms list.
async fn last_seq(app: &TestApp, user: &User, room: &str) -> u64 {
    let (_, rooms) = app.get("/api/chat/rooms/", &user.access).await;
    rooms
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["id"] == room))
        .and_then(|r| r["last_seq"].as_u64())
        .expect("the room is listed with its last_seq")
}

/// Sends `sync` frames from `after` until `synced` says nothing more is
/// there; returns every `message` event of `room` seen meanwhile (live ones
/// included) and the last `synced.last_seq`.
async fn sync_over_socket(socket: &mut WsClient, room: &str, after: u64) -> (Vec<Value>, u64) {
    let mut messages = Vec::new();
    let mut from = after;
    loop {
        socket
            .send(json!({ "action": "sync", "room_id": room, "after_seq": from }))
            .await;
        loop {
            let event = socket
                .next_within(Duration::from_secs(10))
                .await
                .expect("sync answers");
            match event["type"].as_str() {
                Some("message") if event["room_id"] == room => messages.push(event),
                Some("synced") if event["room_id"] == room => {
                    from = event["last_seq"].as_u64().expect("last_seq");
                    if event["has_more"] == true {
                        break;
                    }
                    return (messages, from);
                }
                Some("error") => panic!("sync failed: {event}"),
                _ => {}
            }
        }
    }
}

/// Sends `count` messages `{prefix} {i}` from `user`, `streams` at a time.
async fn send_many(
    app: &TestApp,
    user: &User,
    room: &str,
    prefix: &str,
    count: usize,
    streams: usize,
) {
    let sends = (0..streams).map(|s| async move {
        for i in (s..count).step_by(streams) {
            let (status, body) = app.send(user, room, &format!("{prefix} {i}")).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    });
    futures_util::future::join_all(sends).await;
}

/// Messages by seq, failing on two different messages under one seq.
fn by_seq(messages: &[Value]) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for m in messages {
        let seq = m["seq"].as_u64().expect("every message has a seq");
        let id = m["id"].as_str().expect("id").to_owned();
        if let Some(other) = out.insert(seq, id.clone()) {
            assert_eq!(other, id, "two messages share seq {seq}");
        }
    }
    out
}

#[tokio::test]
async fn ten_concurrent_senders_over_rest_and_websocket_get_seqs_one_to_five_hundred() -> TestResult
{
    const SENDERS: usize = 10;
    const EACH: usize = 50;
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..SENDERS {
        users.push(app.user(&format!("sender{i}")).await);
    }
    let others: Vec<&User> = users[1..].iter().collect();
    let room = app.group(&users[0], "Busy", &others).await;
    let senders = users.iter().enumerate().map(|(i, user)| {
        let (app, room) = (&app, room.as_str());
        async move {
            let texts: Vec<String> = (0..EACH).map(|k| format!("u{i}-m{k}")).collect();
            if i % 2 == 0 {
                for text in &texts {
                    let (status, sent) = app.send(user, room, text).await;
                    assert_eq!(status, StatusCode::CREATED, "{sent}");
                    assert!(sent["seq"].as_u64().is_some_and(|s| s >= 1));
                }
            } else {
                let mut socket = app.ws_room(user, room).await;
                for text in &texts {
                    socket
                        .send(json!({ "message": text, "client_id": text }))
                        .await;
                }
                // Each send is acknowledged by its own echo.
                let mut mine = BTreeSet::new();
                while mine.len() < EACH {
                    let event = socket
                        .next_within(Duration::from_secs(60))
                        .await
                        .expect("echoes of my sends");
                    if event["type"] == "message" && event["sender"] == format!("sender{i}") {
                        mine.insert(event["message"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
        }
    });
    futures_util::future::join_all(senders).await;

    let total = u64::try_from(SENDERS * EACH)?;
    let all = catch_up_over_rest(&app, &users[0], &room, 0).await;
    assert_eq!(
        seqs(&all),
        (1..=total).collect::<Vec<_>>(),
        "1..=500, no gap, no repeat"
    );
    let texts: BTreeSet<&str> = all.iter().filter_map(|m| m["message"].as_str()).collect();
    assert_eq!(texts.len(), SENDERS * EACH, "each message stored once");
    for i in 0..SENDERS {
        let own: Vec<&str> = all
            .iter()
            .filter_map(|m| m["message"].as_str())
            .filter(|t| t.starts_with(&format!("u{i}-")))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|k| format!("u{i}-m{k}")).collect();
        assert_eq!(own, expected, "one sender's messages keep their order");
    }
    assert_eq!(last_seq(&app, &users[0], &room).await, total);

    // History (newest first, `before` pages) is the same order reversed.
    let mut newest_first = Vec::new();
    let mut path = format!("/api/chat/rooms/{room}/messages/?limit=100");
    loop {
        let (_, page) = app.get(&path, &users[3].access).await;
        newest_first.extend(seqs(
            page["results"].as_array().map_or(&[][..], Vec::as_slice),
        ));
        match page["next"].as_str() {
            Some(next) => {
                path = format!("/api/chat/rooms/{room}/messages/?limit=100&before={next}")
            }
            None => break,
        }
    }
    assert_eq!(newest_first, (1..=total).rev().collect::<Vec<_>>());
    Ok(())
}

#[tokio::test]
async fn a_client_that_left_or_died_catches_up_on_everything_once() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let quiet = app.group(&alice, "Quiet", &[&bob]).await;

    let mut socket = app.ws_user(&bob).await;
    app.send(&alice, &room, "before").await;
    let live = socket.next_of("message").await;
    assert_eq!(live["seq"], 1);
    let mut have = 1;
    socket.close().await;

    for i in 0..120 {
        app.send(&alice, &room, &format!("away {i}")).await;
    }
    // After the reconnect: one request says which rooms moved.
    assert_eq!(last_seq(&app, &bob, &room).await, 121);
    assert_eq!(last_seq(&app, &bob, &quiet).await, 0);
    let missed = catch_up_over_rest(&app, &bob, &room, have).await;
    assert_eq!(seqs(&missed), (2..=121).collect::<Vec<_>>());
    assert_eq!(missed[0]["message"], "away 0");

    // The same over the socket alone.
    let mut socket = app.ws_user(&bob).await;
    let (events, synced) = sync_over_socket(&mut socket, &room, have).await;
    assert_eq!(seqs(&events), (2..=121).collect::<Vec<_>>());
    assert_eq!(synced, 121);
    have = synced;

    // Killed without a close frame; the server only learns on its next push.
    drop(socket);
    for i in 0..30 {
        app.send(&alice, &room, &format!("while dead {i}")).await;
    }
    let mut socket = app.ws_user(&bob).await;
    let moved = last_seq(&app, &bob, &room).await;
    assert_eq!(moved, 151);
    let (events, synced) = sync_over_socket(&mut socket, &room, have).await;
    assert_eq!(seqs(&events), (122..=151).collect::<Vec<_>>());
    assert_eq!(synced, 151);
    // Nothing to do for a room already caught up.
    let (events, synced) = sync_over_socket(&mut socket, &quiet, 0).await;
    assert!(events.is_empty());
    assert_eq!(synced, 0);
    Ok(())
}

#[tokio::test]
async fn messages_sent_during_a_sync_are_neither_lost_nor_needed_twice() -> TestResult {
    const AWAY: u64 = 120;
    const DURING: u64 = 100;
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    send_many(&app, &alice, &room, "away", usize::try_from(AWAY)?, 4).await;
    let mut socket = app.ws_user(&bob).await;
    // Alice keeps sending (from two devices) while Bob's sync runs.
    let sending = send_many(&app, &alice, &room, "during", usize::try_from(DURING)?, 2);
    let syncing = sync_over_socket(&mut socket, &room, 0);
    let ((mut seen, synced), ()) = tokio::join!(syncing, sending);
    assert!(synced >= AWAY);
    // Whatever the sync did not bring arrives live: a client needs no second sync.
    while by_seq(&seen).len() < usize::try_from(AWAY + DURING)? {
        let Some(event) = socket.next_within(Duration::from_secs(10)).await else {
            break;
        };
        if event["type"] == "message" {
            seen.push(event);
        }
    }
    let got = by_seq(&seen);
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (1..=AWAY + DURING).collect::<Vec<_>>(),
        "every message once by seq, none missing"
    );
    Ok(())
}

#[tokio::test]
async fn bad_catch_up_requests_get_clear_errors_and_the_socket_lives_on() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let eve = app.user("eve").await;
    let room = app.group(&alice, "Team", &[]).await;
    for i in 0..3 {
        app.send(&alice, &room, &format!("m{i}")).await;
    }
    let path = |query: &str| format!("/api/chat/rooms/{room}/messages/?{query}");
    for query in [
        "after_seq=-1",
        "after_seq=abc",
        "after_seq=1.5",
        "after_seq=4",
        "after_seq=2&before=x",
    ] {
        let (status, body) = app.get(&path(query), &alice.access).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["after_seq"][0].is_string(), "{query}: {body}");
    }
    let (_, body) = app.get(&path("after_seq=9"), &alice.access).await;
    assert!(
        body["after_seq"][0]
            .as_str()
            .is_some_and(|m| m.contains("seq 3")),
        "says where the room is: {body}"
    );
    let (status, page) = app.get(&path("after_seq=3"), &alice.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["results"], json!([]));
    assert_eq!(page["next"], Value::Null);
    let (status, _) = app.get(&path("after_seq=0"), &eve.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "strangers learn nothing");

    let mut socket = app.ws_user(&alice).await;
    for after in [json!(-1), json!("x"), json!(2.5), json!(null), json!(99)] {
        socket
            .send(json!({ "action": "sync", "room_id": room, "after_seq": after }))
            .await;
        let error = socket.next_of("error").await;
        assert!(error["fields"]["after_seq"].is_array(), "{after}: {error}");
    }
    socket
        .send(json!({ "action": "sync", "room_id": room }))
        .await;
    assert!(socket.next_of("error").await["fields"]["after_seq"].is_array());
    let mut eves = app.ws_user(&eve).await;
    eves.send(json!({ "action": "sync", "room_id": room, "after_seq": 0 }))
        .await;
    assert_eq!(eves.next_of("error").await["status"], 404);
    socket.send(json!({ "action": "ping" })).await;
    socket.next_of("pong").await;
    let (events, synced) = sync_over_socket(&mut socket, &room, 1).await;
    assert_eq!((seqs(&events), synced), (vec![2, 3], 3));
    Ok(())
}
