//! Unread counts: from `last_seq` and the read mark, moved by reading over
//! REST or WebSocket, and told to the reader's other devices.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User};

async fn unread_in_list(app: &TestApp, user: &User, room: &str) -> TestResult<u64> {
    let (status, rooms) = app.get("/api/chat/rooms/", &user.access).await;
    assert_eq!(status, StatusCode::OK);
    let entry = rooms
        .as_array()
        .ok_or("rooms")?
        .iter()
        .find(|r| r["id"] == room)
        .ok_or("the room is listed")?;
    Ok(entry["unread_count"].as_u64().ok_or("unread_count")?)
}

async fn read_over_rest(
    app: &TestApp,
    user: &User,
    room: &str,
    message: &Value,
) -> (StatusCode, Value) {
    app.post(
        &format!("/api/chat/rooms/{room}/read/"),
        Some(&user.access),
        json!({ "message_id": message }),
    )
    .await
}

#[tokio::test]
async fn unread_counts_follow_reads_on_every_device() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "team", &[&bob]).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, sent) = app.send(&alice, &room, &format!("m{i}")).await;
        ids.push(sent["id"].clone());
    }
    assert_eq!(unread_in_list(&app, &bob, &room).await?, 3);
    assert_eq!(
        unread_in_list(&app, &alice, &room).await?,
        0,
        "the sender read what they sent"
    );
    let (_, detail) = app
        .get(&format!("/api/chat/rooms/{room}/"), &bob.access)
        .await;
    assert_eq!(detail["unread_count"], 3, "{detail}");

    let mut phone = app.ws_user(&bob).await;
    let mut laptop = app.ws_user(&bob).await;
    let (status, body) = read_over_rest(&app, &bob, &room, &ids[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["unread_count"], 1);
    let told = laptop.next_of("unread").await;
    assert_eq!(
        (told["room_id"].as_str(), told["unread_count"].as_u64()),
        (Some(room.as_str()), Some(1))
    );
    let _ = phone.next_of("unread").await;

    phone
        .send(json!({ "action": "read", "room_id": room, "message_id": ids[2] }))
        .await;
    let told = laptop.next_of("unread").await;
    assert_eq!(told["unread_count"], 0, "{told}");
    assert_eq!(unread_in_list(&app, &bob, &room).await?, 0);

    // Reading an older message moves nothing back.
    let (status, body) = read_over_rest(&app, &bob, &room, &ids[0]).await;
    assert_eq!(
        (status, body["unread_count"].as_u64()),
        (StatusCode::OK, Some(0))
    );

    let (status, _) = app.send(&bob, &room, "hi").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(unread_in_list(&app, &alice, &room).await?, 1);
    Ok(())
}

#[tokio::test]
async fn reading_is_for_members_and_checks_its_input() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let dave = app.user("dave").await;
    let room = app.group(&alice, "team", &[]).await;
    let (_, sent) = app.send(&alice, &room, "hello").await;

    let (status, _) = read_over_rest(&app, &dave, &room, &sent["id"]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an outsider");
    let (status, body) = read_over_rest(&app, &alice, &room, &json!("nonsense")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message_id"].is_array(), "{body}");
    let (status, body) =
        read_over_rest(&app, &alice, &room, &json!("01KZZZZZZZZZZZZZZZZZZZZZZZ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/chat/rooms/{room}/read/"),
            Some(&alice.access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    Ok(())
}

async fn mute(app: &TestApp, user: &User, room: &str, muted: Value) -> (StatusCode, Value) {
    app.call(
        reqwest::Method::PUT,
        &format!("/api/chat/rooms/{room}/mute/"),
        Some(&user.access),
        Some(json!({ "muted": muted })),
    )
    .await
}

async fn listed(app: &TestApp, user: &User, room: &str) -> TestResult<Value> {
    let (_, rooms) = app.get("/api/chat/rooms/", &user.access).await;
    Ok(rooms
        .as_array()
        .ok_or("rooms")?
        .iter()
        .find(|r| r["id"] == room)
        .cloned()
        .ok_or("the room is listed")?)
}

#[tokio::test]
async fn a_muted_room_counts_no_unread_messages_but_still_delivers_them() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let room = app.group(&alice, "noisy", &[&bob]).await;
    let mut bob_socket = app.ws_user(&bob).await;

    let (status, answer) = mute(&app, &bob, &room, json!(true)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "room_id": room, "unread_count": 0, "muted": true })
    );
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let (status, sent) = app.send(&alice, &room, text).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(bob_socket.next_of("message").await["message"], text);
        ids.push(sent["id"].clone());
    }
    // Reading one says so too: muted, none counted.
    let (status, body) = read_over_rest(&app, &bob, &room, &ids[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "room_id": room, "unread_count": 0, "muted": true })
    );
    let entry = listed(&app, &bob, &room).await?;
    assert_eq!(
        (
            &entry["unread_count"],
            &entry["has_unread"],
            &entry["muted"]
        ),
        (&json!(0), &json!(true), &json!(true)),
        "{entry}"
    );
    let (_, detail) = app
        .get(&format!("/api/chat/rooms/{room}/"), &bob.access)
        .await;
    assert_eq!(detail["muted"], true, "{detail}");
    // Only for bob: alice's view of the room is hers.
    let entry = listed(&app, &alice, &room).await?;
    assert_eq!(
        (&entry["muted"], &entry["unread_count"]),
        (&json!(false), &json!(0))
    );

    // Unmuting brings the count back (the one after what bob read); "false"
    // as text is read as DRF does.
    let (status, answer) = mute(&app, &bob, &room, json!("false")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["unread_count"], 1);
    assert_eq!(unread_in_list(&app, &bob, &room).await?, 1);
    // And a read answers with it, unmuted.
    let (_, body) = read_over_rest(&app, &bob, &room, &ids[1]).await;
    assert_eq!(
        body,
        json!({ "room_id": room, "unread_count": 1, "muted": false })
    );

    // The flag goes with the membership.
    mute(&app, &bob, &room, json!(true)).await;
    let path = format!("/api/chat/rooms/{room}/members/{}/", bob.id);
    let (status, _) = app
        .call(reqwest::Method::DELETE, &path, Some(&alice.access), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .post(
            &format!("/api/chat/rooms/{room}/members/"),
            Some(&alice.access),
            json!({ "user_id": bob.id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(listed(&app, &bob, &room).await?["muted"], false);

    // Outsiders and bad bodies.
    let (status, _) = mute(&app, &carol, &room, json!(true)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [json!(null), json!("maybe"), json!(2), json!([true])] {
        let (status, body) = mute(&app, &bob, &room, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["muted"].is_array(), "{body}");
    }
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/chat/rooms/{room}/mute/"),
            Some(&bob.access),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    Ok(())
}
