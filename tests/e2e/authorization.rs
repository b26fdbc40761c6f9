//! Who may do what in a room: outsiders, members and admins.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp, TestResult, User};

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Every chat route on `room`, with `target` as the member acted upon.
fn cases(room: &str, target: &User, newcomer: &User) -> Vec<Case> {
    let case = |what, method, path: String, body| Case {
        what,
        method,
        path,
        body,
    };
    vec![
        case(
            "room detail",
            Method::GET,
            format!("/api/chat/rooms/{room}/"),
            None,
        ),
        case(
            "list messages",
            Method::GET,
            format!("/api/chat/rooms/{room}/messages/"),
            None,
        ),
        case(
            "send message",
            Method::POST,
            format!("/api/chat/rooms/{room}/messages/"),
            Some(json!({ "message": "hi" })),
        ),
        case(
            "list members",
            Method::GET,
            format!("/api/chat/rooms/{room}/members/"),
            None,
        ),
        case(
            "add member",
            Method::POST,
            format!("/api/chat/rooms/{room}/members/"),
            Some(json!({ "user_id": newcomer.id })),
        ),
        case(
            "change role",
            Method::PATCH,
            format!("/api/chat/rooms/{room}/members/{}/", target.id),
            Some(json!({ "role": "admin" })),
        ),
        case(
            "remove member",
            Method::DELETE,
            format!("/api/chat/rooms/{room}/members/{}/", target.id),
            None,
        ),
    ]
}

async fn run(app: &TestApp, who: &User, cases: &[Case]) -> Vec<(&'static str, StatusCode)> {
    let mut out = Vec::new();
    for c in cases {
        let (status, body) = app
            .call(c.method.clone(), &c.path, Some(&who.access), c.body.clone())
            .await;
        assert!(
            body.is_null() || body.is_object() || body.is_array(),
            "JSON answer"
        );
        out.push((c.what, status));
    }
    out
}

#[tokio::test]
async fn outsiders_members_and_admins_get_exactly_their_rights() -> TestResult {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let target = app.user("target").await;
    let outsider = app.user("outsider").await;
    let newcomer = app.user("newcomer").await;

    // Each run gets a fresh room so that one caller's changes do not affect the next.
    let room = app.group(&admin, "Outsider", &[&member, &target]).await;
    let got = run(&app, &outsider, &cases(&room, &target, &newcomer)).await;
    assert!(
        got.iter().all(|(_, s)| *s == StatusCode::NOT_FOUND),
        "outsiders cannot even see the room: {got:?}"
    );

    let room = app.group(&admin, "Member", &[&member, &target]).await;
    let got = run(&app, &member, &cases(&room, &target, &newcomer)).await;
    use StatusCode as S;
    assert_eq!(
        got,
        vec![
            ("room detail", S::OK),
            ("list messages", S::OK),
            ("send message", S::CREATED),
            ("list members", S::OK),
            ("add member", S::FORBIDDEN),
            ("change role", S::FORBIDDEN),
            ("remove member", S::FORBIDDEN),
        ]
    );

    let room = app.group(&admin, "Admin", &[&member, &target]).await;
    let got = run(&app, &admin, &cases(&room, &target, &newcomer)).await;
    assert_eq!(
        got,
        vec![
            ("room detail", S::OK),
            ("list messages", S::OK),
            ("send message", S::CREATED),
            ("list members", S::OK),
            ("add member", S::CREATED),
            ("change role", S::OK),
            ("remove member", S::NO_CONTENT),
        ]
    );
    // The removed member lost access; the added one gained it.
    let (status, _) = app
        .get(&format!("/api/chat/rooms/{room}/"), &target.access)
        .await;
    assert_eq!(status, S::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/api/chat/rooms/{room}/"), &newcomer.access)
        .await;
    assert_eq!(status, S::OK);

    // Outsiders do not see the room in their list.
    let (_, rooms) = app.get("/api/chat/rooms/", &outsider.access).await;
    assert_eq!(rooms, json!([]));
    Ok(())
}

#[tokio::test]
async fn the_last_admin_cannot_leave_the_room_adminless() -> TestResult {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let room = app.group(&admin, "Team", &[&member]).await;
    let leave = format!("/api/chat/rooms/{room}/leave/");

    let (status, body) = app.post(&leave, Some(&admin.access), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/chat/rooms/{room}/members/{}/", admin.id),
            Some(&admin.access),
            Some(json!({ "role": "member" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the last admin cannot step down"
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/chat/rooms/{room}/members/{}/", admin.id),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nor remove themselves");

    // Promote the member, then the former admin may leave.
    let (status, promoted) = app
        .call(
            Method::PATCH,
            &format!("/api/chat/rooms/{room}/members/{}/", member.id),
            Some(&admin.access),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(promoted["role"], "admin");
    let (status, _) = app.post(&leave, Some(&admin.access), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, members) = app
        .get(&format!("/api/chat/rooms/{room}/members/"), &member.access)
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(1));
    // A member may leave on their own; the sole admin may leave an empty room.
    let (status, _) = app.post(&leave, Some(&member.access), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn members_may_leave_but_not_remove_others() -> TestResult {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let room = app.group(&admin, "Team", &[&a, &b]).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/chat/rooms/{room}/members/{}/", a.id),
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "removing oneself is leaving"
    );
    let (status, _) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &a.access)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn direct_rooms_have_no_member_management() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (_, room) = app
        .post(
            &format!("/api/chat/direct-chat/{}/", bob.id),
            Some(&alice.access),
            json!({}),
        )
        .await;
    let room = room["id"].as_str().ok_or("id")?;
    let (status, _) = app
        .post(
            &format!("/api/chat/rooms/{room}/members/"),
            Some(&alice.access),
            json!({ "user_id": carol.id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .post(
            &format!("/api/chat/rooms/{room}/leave/"),
            Some(&alice.access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Carol can neither read nor write it.
    let (status, _) = app
        .get(&format!("/api/chat/rooms/{room}/messages/"), &carol.access)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.send(&carol, room, "hi").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Both participants can.
    let (status, _) = app.send(&bob, room, "hi alice").await;
    assert_eq!(status, StatusCode::CREATED);
    Ok(())
}
