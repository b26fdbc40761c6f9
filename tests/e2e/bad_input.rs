//! Bad input on every route: a JSON 4xx that says what is wrong, never a 5xx,
//! and nothing written.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User, PASSWORD};

/// Every route that takes a body, with the fields it reads.
fn body_routes(room: &str, other: &User) -> Vec<(Method, String, Vec<&'static str>)> {
    vec![
        (
            Method::POST,
            "/api/users/register/".into(),
            vec!["username", "email", "password"],
        ),
        (
            Method::POST,
            "/api/users/verify-email/".into(),
            vec!["email", "otp"],
        ),
        (Method::POST, "/api/users/resend-otp/".into(), vec!["email"]),
        (
            Method::POST,
            "/api/users/token/".into(),
            vec!["email", "password"],
        ),
        (
            Method::POST,
            "/api/users/token/refresh/".into(),
            vec!["refresh"],
        ),
        (Method::POST, "/api/users/logout/".into(), vec!["refresh"]),
        (
            Method::PUT,
            "/api/users/profile/".into(),
            vec!["username", "first_name"],
        ),
        (Method::PATCH, "/api/users/profile/".into(), vec!["bio"]),
        (
            Method::POST,
            "/api/chat/rooms/".into(),
            vec!["name", "type", "members"],
        ),
        (
            Method::POST,
            format!("/api/chat/rooms/{room}/messages/"),
            vec!["message"],
        ),
        (
            Method::POST,
            format!("/api/chat/rooms/{room}/members/"),
            vec!["user_id", "role"],
        ),
        (
            Method::PATCH,
            format!("/api/chat/rooms/{room}/members/{}/", other.id),
            vec!["role"],
        ),
    ]
}

fn assert_client_error(what: &str, status: StatusCode, body: &Value) {
    assert!(
        status.is_client_error(),
        "{what}: expected 4xx, got {status} {body}"
    );
    let useful = body.get("detail").is_some_and(Value::is_string)
        || body
            .as_object()
            .is_some_and(|o| !o.is_empty() && o.values().all(Value::is_array));
    assert!(useful, "{what}: error body should explain: {body}");
}

/// What the world looks like, to show that nothing was written.
async fn snapshot(app: &TestApp, user: &User, room: &str) -> Value {
    let (_, profile) = app.get("/api/users/profile/", &user.access).await;
    let (_, rooms) = app.get("/api/chat/rooms/", &user.access).await;
    let (_, members) = app
        .get(&format!("/api/chat/rooms/{room}/members/"), &user.access)
        .await;
    let (_, messages) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &user.access)
        .await;
    json!({ "profile": profile, "rooms": rooms, "members": members, "messages": messages })
}

#[tokio::test]
async fn malformed_wrong_typed_missing_and_oversize_bodies_are_refused() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let room = app.group(&alice, "Team", &[&bob]).await;
    let before = snapshot(&app, &alice, &room).await;
    let big = vec![b'x'; 70 * 1024];
    let mut oversize = br#"{"message": ""#.to_vec();
    oversize.extend_from_slice(&big);
    oversize.extend_from_slice(br#""}"#);

    for (method, path, fields) in body_routes(&room, &bob) {
        let raw_bodies: Vec<(&str, &str, Vec<u8>)> = vec![
            ("malformed", "application/json", b"{\"email\": ".to_vec()),
            ("not an object", "application/json", b"[1, 2]".to_vec()),
            ("a string", "application/json", b"\"hello\"".to_vec()),
            ("oversize", "application/json", oversize.clone()),
            ("xml", "application/xml", b"<a/>".to_vec()),
        ];
        for (what, content_type, bytes) in raw_bodies {
            let (status, body) = app
                .raw(
                    method.clone(),
                    &path,
                    Some(&alice.access),
                    content_type,
                    bytes,
                )
                .await;
            assert_client_error(&format!("{method} {path} {what}"), status, &body);
        }
        // Every field of the wrong type.
        for wrong in [json!({}), json!([1]), json!(true)] {
            let body: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| ((*f).to_owned(), wrong.clone()))
                .collect();
            let (status, answer) = app
                .call(
                    method.clone(),
                    &path,
                    Some(&alice.access),
                    Some(Value::Object(body)),
                )
                .await;
            assert_client_error(
                &format!("{method} {path} wrong type {wrong}"),
                status,
                &answer,
            );
        }
    }
    // Missing fields are named.
    let (status, body) = app.post("/api/users/register/", None, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for field in ["username", "email", "password"] {
        assert_eq!(body[field][0], "This field is required.", "{body}");
    }
    let (status, body) = app
        .post(
            &format!("/api/chat/rooms/{room}/messages/"),
            Some(&alice.access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"][0], "This field is required.");

    assert_eq!(
        snapshot(&app, &alice, &room).await,
        before,
        "nothing was written"
    );
    Ok(())
}

#[tokio::test]
async fn invalid_values_are_explained_per_field() -> TestResult {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/api/users/register/",
            None,
            json!({ "username": "bad name!", "email": "nope", "password": "123", "password2": "123" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["username"].is_array() && body["email"].is_array() && body["password"].is_array());
    let (status, body) = app
        .post(
            "/api/users/register/",
            None,
            json!({ "username": "alice", "email": "a@example.com", "password": PASSWORD, "password2": "other password" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["password2"][0], "Password fields didn't match.");
    assert!(app.mailer.sent().is_empty(), "no account, no mail");

    let alice = app.user("alice").await;
    let room = app.group(&alice, "Team", &[]).await;
    let long = "x".repeat(4001);
    for (body, field) in [
        (json!({ "message": "   " }), "message"),
        (json!({ "message": long }), "message"),
        (json!({ "message": "ok", "client_id": "" }), "client_id"),
    ] {
        let (status, answer) = app
            .post(
                &format!("/api/chat/rooms/{room}/messages/"),
                Some(&alice.access),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer[field].is_array(), "{answer}");
    }
    for (body, field) in [
        (json!({ "type": "group" }), "name"),
        (json!({ "type": "group", "name": "   " }), "name"),
        (json!({ "type": "channel", "name": "x" }), "type"),
        (json!({ "type": "direct", "members": [] }), "members"),
        (
            json!({ "type": "group", "name": "x", "members": ["NOPE"] }),
            "members",
        ),
        (
            json!({ "type": "group", "name": "x", "members": "abc" }),
            "members",
        ),
    ] {
        let (status, answer) = app
            .post("/api/chat/rooms/", Some(&alice.access), body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer[field].is_array(), "{answer}");
    }
    let (_, rooms) = app.get("/api/chat/rooms/", &alice.access).await;
    assert_eq!(
        rooms.as_array().map(Vec::len),
        Some(1),
        "no room was created"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_ids_are_not_found_and_change_nothing() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "Team", &[]).await;
    let ghost = "01JD00000000000000000GHOST";
    let not_found = [
        (Method::GET, format!("/api/chat/rooms/{ghost}/"), None),
        (
            Method::GET,
            format!("/api/chat/rooms/{ghost}/messages/"),
            None,
        ),
        (
            Method::POST,
            format!("/api/chat/rooms/{ghost}/messages/"),
            Some(json!({ "message": "x" })),
        ),
        (
            Method::GET,
            format!("/api/chat/rooms/{ghost}/members/"),
            None,
        ),
        (
            Method::POST,
            format!("/api/chat/rooms/{ghost}/members/"),
            Some(json!({ "user_id": alice.id })),
        ),
        (
            Method::POST,
            format!("/api/chat/rooms/{ghost}/leave/"),
            Some(json!({})),
        ),
        (
            Method::DELETE,
            format!("/api/chat/rooms/{room}/members/{ghost}/"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/chat/rooms/{room}/members/{ghost}/"),
            Some(json!({ "role": "admin" })),
        ),
        (
            Method::POST,
            format!("/api/chat/direct-chat/{ghost}/"),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/api/chat/rooms/..%2F..%2Fetc/".to_owned(),
            None,
        ),
        (Method::GET, "/api/nothing/here/".to_owned(), None),
        // A percent escape that is not UTF-8 names nothing either.
        (Method::GET, "/api/chat/rooms/%FF%FE/".to_owned(), None),
        (
            Method::DELETE,
            format!("/api/chat/rooms/{room}/members/%C3%28/"),
            None,
        ),
    ];
    for (method, path, body) in not_found {
        let (status, answer) = app
            .call(method.clone(), &path, Some(&alice.access), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert!(answer["detail"].is_string());
    }
    let (status, answer) = app
        .post(
            &format!("/api/chat/rooms/{room}/members/"),
            Some(&alice.access),
            json!({ "user_id": ghost }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["user_id"][0], "User not found.");
    let (status, _) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", alice.id),
            Some(&alice.access),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no direct chat with oneself"
    );
    let (_, rooms) = app.get("/api/chat/rooms/", &alice.access).await;
    assert_eq!(rooms.as_array().map(Vec::len), Some(1));
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/chat/rooms/",
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test]
async fn bad_limits_and_cursors_are_refused() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let room = app.group(&alice, "Team", &[]).await;
    let other = app.group(&alice, "Other", &[]).await;
    for i in 0..3 {
        app.send(&alice, &room, &format!("m{i}")).await;
        app.send(&alice, &other, &format!("o{i}")).await;
    }
    let (_, page) = app
        .get(
            &format!("/api/chat/rooms/{other}/messages/?limit=1"),
            &alice.access,
        )
        .await;
    let foreign_cursor = page["next"].as_str().ok_or("cursor")?.to_owned();
    for query in [
        "limit=0".to_owned(),
        "limit=101".to_owned(),
        "limit=-1".to_owned(),
        "limit=ten".to_owned(),
        "limit=99999999999999999999999".to_owned(),
        "before=garbage".to_owned(),
        "before=%00%01".to_owned(),
        format!("before={foreign_cursor}"),
    ] {
        let (status, body) = app
            .get(
                &format!("/api/chat/rooms/{room}/messages/?{query}"),
                &alice.access,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body
            .as_object()
            .is_some_and(|o| o.contains_key("limit") || o.contains_key("before")));
    }
    let (status, page) = app
        .get(
            &format!("/api/chat/rooms/{room}/messages/?limit=100"),
            &alice.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(3));
    assert!(page["next"].is_null());
    Ok(())
}

#[tokio::test]
async fn profile_pictures_must_be_small_real_images() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "profile_picture",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str("image/png")
                .expect("mime"),
        );
        app.client
            .put(app.url("/api/users/profile/"))
            .bearer_auth(&alice.access)
            .multipart(form)
            .send()
    };
    let response = upload(b"<svg onload=alert(1)>".to_vec(), "evil.png").await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await?;
    assert!(body["profile_picture"].is_array());
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(3 * 1024 * 1024, 0);
    let response = upload(huge, "huge.png").await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = upload(Vec::new(), "empty.png").await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, _) = app
        .raw(
            Method::PUT,
            "/api/users/profile/",
            Some(&alice.access),
            "multipart/form-data",
            b"no boundary".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, me) = app.get("/api/users/profile/", &alice.access).await;
    assert!(me["profile_picture"].is_null(), "nothing stored");
    Ok(())
}
