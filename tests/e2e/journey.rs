//! The whole journey of a new user, step by step over HTTP.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{spawn_app, TestResult, PASSWORD};

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test]
async fn register_verify_login_profile_rooms_messages() -> TestResult {
    let app = spawn_app().await;

    // Register: the code arrives by mail, login is refused until it is used.
    let (status, body) = app.register("alice", "Alice@Example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["email"], "alice@example.com");
    let (status, body) = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "email_not_verified");
    let otp = app.last_otp("alice@example.com").ok_or("no otp mail")?;
    let (status, _) = app.verify("alice@example.com", &otp).await;
    assert_eq!(status, StatusCode::OK);
    let (status, tokens) = app.login("ALICE@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["access"].as_str().ok_or("access")?.to_owned();
    assert!(tokens["refresh"].is_string());

    // Profile: read, update fields, upload a picture, fetch it back.
    let (status, me) = app.get("/api/users/profile/", &access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me["profile_picture"].is_null());
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());
    let (status, me) = app
        .call(
            Method::PUT,
            "/api/users/profile/",
            Some(&access),
            Some(json!({ "first_name": "Alice", "bio": "Hi there" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["bio"], "Hi there");
    let form = reqwest::multipart::Form::new()
        .text("last_name", "Liddell")
        .part(
            "profile_picture",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("me.png"),
        );
    let response = app
        .client
        .put(app.url("/api/users/profile/"))
        .bearer_auth(&access)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let me: serde_json::Value = response.json().await?;
    assert_eq!(me["last_name"], "Liddell");
    assert_eq!(me["first_name"], "Alice", "multipart update is partial");
    let picture_url = me["profile_picture"].as_str().ok_or("picture url")?;
    let picture = app.client.get(picture_url).send().await?;
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(picture.headers()["content-type"].to_str()?, "image/png");
    assert_eq!(picture.bytes().await?.as_ref(), PNG);

    // A group room with a second user, who is added as a member afterwards.
    let bob = app.user("bob").await;
    let (status, room) = app
        .post(
            "/api/chat/rooms/",
            Some(&access),
            json!({ "name": "Team", "type": "group", "members": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let room_id = room["id"].as_str().ok_or("room id")?.to_owned();
    assert_eq!(room["type"], "group");
    assert_eq!(room["member_count"], 1);
    let (status, member) = app
        .post(
            &format!("/api/chat/rooms/{room_id}/members/"),
            Some(&access),
            json!({ "user_id": bob.id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["user"]["username"], "bob");
    assert_eq!(member["role"], "member");
    let (_, members) = app
        .get(&format!("/api/chat/rooms/{room_id}/members/"), &bob.access)
        .await;
    let names: Vec<&str> = members
        .as_array()
        .ok_or("members")?
        .iter()
        .filter_map(|m| m["user"]["username"].as_str())
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    // 25 messages from both, then page through history 10 at a time.
    let mut sent = Vec::new();
    for i in 0..25 {
        let (who, token) = if i % 2 == 0 {
            ("alice", &access)
        } else {
            ("bob", &bob.access)
        };
        let (status, msg) = app
            .post(
                &format!("/api/chat/rooms/{room_id}/messages/"),
                Some(token),
                json!({ "message": format!("message {i}") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{msg}");
        assert_eq!(msg["sender"]["username"], who);
        assert_eq!(msg["room"], room_id.as_str());
        assert!(msg["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        sent.push(msg["id"].as_str().ok_or("id")?.to_owned());
        app.clock.advance_millis(if i % 5 == 0 { 0 } else { 1 });
    }
    let mut seen = Vec::new();
    let mut stamps = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/chat/rooms/{room_id}/messages/?limit=10&before={c}"),
            None => format!("/api/chat/rooms/{room_id}/messages/?limit=10"),
        };
        let (status, page) = app.get(&path, &bob.access).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for m in page["results"].as_array().ok_or("results")? {
            seen.push(m["id"].as_str().ok_or("id")?.to_owned());
            stamps.push(m["timestamp"].as_str().ok_or("timestamp")?.to_owned());
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Some messages share a millisecond: the cursor must still neither skip nor repeat.
    assert_eq!(seen.len(), 25, "no duplicates across pages");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        sent.iter().collect::<HashSet<_>>(),
        "no gaps"
    );
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(seen[0], sent[24]);

    // The room list shows the last message.
    let (_, rooms) = app.get("/api/chat/rooms/", &access).await;
    assert_eq!(rooms[0]["id"], room_id.as_str());
    assert_eq!(rooms[0]["last_message"]["message"], "message 24");

    // Direct chat: the same room every time, from either side.
    let (status, first) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", bob.id),
            Some(&access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["type"], "direct");
    let (status, again) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", bob.id),
            Some(&access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let alice_id = me["id"].as_str().ok_or("alice id")?;
    let (_, from_bob) = app
        .post(
            &format!("/api/chat/direct-chat/{alice_id}/"),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(from_bob["id"], first["id"]);
    Ok(())
}

#[tokio::test]
async fn room_detail_lists_members_and_the_callers_role() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let (status, detail) = app
        .get(&format!("/api/chat/rooms/{room}/"), &bob.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["name"], "Team");
    assert_eq!(detail["my_role"], "member");
    assert_eq!(detail["members"].as_array().map(Vec::len), Some(2));
    let (_, detail) = app
        .get(&format!("/api/chat/rooms/{room}/"), &alice.access)
        .await;
    assert_eq!(detail["my_role"], "admin");
    Ok(())
}

#[tokio::test]
async fn content_is_accepted_as_an_alias_of_message() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "Solo", &[]).await;
    let (status, msg) = app
        .post(
            &format!("/api/chat/rooms/{room}/messages/"),
            Some(&alice.access),
            json!({ "content": "via alias" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(msg["message"], "via alias");
    Ok(())
}

#[tokio::test]
async fn a_retried_client_id_stores_one_message() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "Solo", &[]).await;
    let path = format!("/api/chat/rooms/{room}/messages/");
    let body = json!({ "message": "once", "client_id": "c-1" });
    let (first_status, first) = app.post(&path, Some(&alice.access), body.clone()).await;
    let (second_status, second) = app.post(&path, Some(&alice.access), body).await;
    assert_eq!(first_status, StatusCode::CREATED);
    assert_eq!(second_status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    let (_, page) = app.get(&path, &alice.access).await;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn cors_preflight_allows_the_configured_origin_only() -> TestResult {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/chat/rooms/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("http://app.test").await?;
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str())
            .transpose()?,
        Some("http://app.test")
    );
    let refused = preflight("http://evil.test").await?;
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    Ok(())
}
