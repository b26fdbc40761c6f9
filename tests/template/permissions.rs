//! Each function's IAM policy covers what its code calls, and no more than
//! the capabilities its route needs: every route is run against the emulator
//! with an SDK interceptor recording the DynamoDB actions it needed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_aws::metrics::RequestCounter;
use chat_aws::setup::{AwsSettings, Needs};
use chat_core::adapters::ChannelNotifier;
use chat_core::http::{handle, ApiRequest, Route, ROUTES};
use chat_core::ws::{self, WsEvent, WsRequestContext};
use chat_core::Ctx;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};

use crate::consistency::template;

/// Function (its `CHAT_ROUTE`) → the actions its template policy allows.
fn policies() -> BTreeMap<String, BTreeSet<String>> {
    let t = template();
    let mut out = BTreeMap::new();
    for (_, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = crate::consistency::function_of(r);
        let mut actions = BTreeSet::new();
        for policy in r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                match &statement["Action"] {
                    serde_yaml::Value::String(a) => {
                        actions.insert(a.clone());
                    }
                    serde_yaml::Value::Sequence(list) => {
                        actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)));
                    }
                    _ => {}
                }
            }
        }
        out.insert(binary, actions);
    }
    out
}

fn needs_of(function: &str) -> Needs {
    match ROUTES.iter().find(|s| s.function == function) {
        Some(spec) => chat_functions::http::route_needs(spec.route),
        // Reads tokens only.
        None if function == chat_functions::route::AUTHORIZER_FUNCTION => Needs::default(),
        None => Needs::WEBSOCKET,
    }
}

#[test]
fn policies_grant_exactly_the_capabilities_each_route_needs() {
    for (function, actions) in policies() {
        let needs = needs_of(&function);
        assert_eq!(
            actions.contains("ses:SendEmail"),
            needs.mail,
            "{function}: ses"
        );
        let s3: BTreeSet<&str> = actions
            .iter()
            .filter(|a| a.starts_with("s3:"))
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = match function.as_str() {
            // Pictures are written where they are read.
            "profile-update" => ["s3:GetObject", "s3:PutObject"].into(),
            // Presigning an upload that carries the pending tag.
            "attachment-create" => ["s3:PutObject", "s3:PutObjectTagging"].into(),
            // Reading an upload's first bytes, then keeping it.
            "messages-send" => ["s3:GetObject", "s3:PutObjectTagging"].into(),
            // Letting a deleted message's files expire.
            "message-delete" => ["s3:PutObjectTagging"].into(),
            _ if needs.blobs => ["s3:GetObject"].into(),
            _ => BTreeSet::new(),
        };
        assert_eq!(s3, expected, "{function}: s3");
        assert_eq!(!s3.is_empty(), needs.blobs, "{function}: s3 client");
        assert_eq!(
            actions.contains("execute-api:ManageConnections"),
            needs.notifier,
            "{function}: push"
        );
        assert!(
            actions.contains("ssm:GetParameter"),
            "{function}: reads the signing secret"
        );
        assert!(
            !actions
                .iter()
                .any(|a| a.ends_with('*') || a == "dynamodb:Scan"),
            "{function}: {actions:?}"
        );
    }
}

struct World {
    ctx: Ctx,
    counter: RequestCounter,
    access: String,
    refresh: String,
    alice: String,
    bob: String,
    carol: String,
    room: String,
    message: String,
    direct_with: String,
    /// A message carrying `attachment`.
    with_file: String,
    attachment: String,
}

async fn world() -> World {
    let resources = chat_tests::provision().await;
    let counter = RequestCounter::default();
    let aws = AwsSettings {
        table: resources.table.clone(),
        bucket: Some(resources.bucket.clone()),
        websocket_endpoint: Some("http://127.0.0.1:9/none".into()),
        picture_url_ttl: Duration::from_secs(900),
        s3_force_path_style: true,
    };
    let mut config = chat_core::config::Config {
        jwt_secret: chat_core::config::Secret::new(vec![9; 32]).expect("secret"),
        settings: Default::default(),
    };
    config.settings.mail_from = resources.mail_from.clone();
    let mut ctx = chat_aws::setup::context(
        &config,
        &aws,
        &resources.sdk,
        Needs::ALL,
        Some(counter.clone()),
    )
    .expect("context");
    // Pushes go nowhere: every connection is gone, which exercises the clean-up.
    ctx.notifier = Arc::new(ChannelNotifier::default());
    let mut ids = Vec::new();
    let mut tokens = None;
    for name in ["alice", "bob", "carol", "dave"] {
        let registration = chat_core::usecases::auth::Registration {
            username: chat_core::domain::Username::parse(name).expect("name"),
            email: chat_core::domain::Email::parse(&format!("{name}@example.com")).expect("email"),
            password: chat_core::domain::Password::parse_new("correct horse battery", None, None)
                .expect("pw"),
        };
        chat_core::usecases::auth::register(&ctx, registration, "test")
            .await
            .expect("register");
        let email = chat_core::domain::Email::parse(&format!("{name}@example.com")).expect("email");
        let user = ctx
            .users
            .user_by_email(&email)
            .await
            .expect("read")
            .expect("user");
        ctx.users.mark_verified(&user.id).await.expect("verify");
        ids.push(user.id.to_string());
        if tokens.is_none() {
            let password = chat_core::domain::Password::parse_login("correct horse battery")
                .expect("a password");
            tokens = Some(
                chat_core::usecases::auth::login(&ctx, &email, &password, "test")
                    .await
                    .expect("login"),
            );
        }
    }
    let tokens = tokens.expect("tokens");
    let alice = chat_core::domain::UserId::from_trusted(ids[0].clone());
    let created = chat_core::usecases::rooms::create(
        &ctx,
        &alice,
        chat_core::usecases::rooms::NewRoom::Group {
            name: chat_core::domain::RoomName::parse("Team").expect("name"),
            members: vec![chat_core::domain::UserId::from_trusted(ids[1].clone())],
        },
    )
    .await
    .expect("room");
    let sent = chat_core::usecases::messages::send(
        &ctx,
        &alice,
        &created.room.id,
        chat_core::domain::MessageBody::parse("to be edited").expect("body"),
        None,
    )
    .await
    .expect("send");
    let slot = chat_core::usecases::attachments::create_slot(
        &ctx,
        &alice,
        &created.room.id,
        "text/plain".into(),
        5,
    )
    .await
    .expect("slot");
    ctx.blobs
        .put(
            &chat_core::domain::Attachment::key(&created.room.id, &alice, &slot.id),
            chat_core::ports::Blob {
                bytes: bytes::Bytes::from_static(b"notes"),
                content_type: "text/plain".into(),
            },
        )
        .await
        .expect("upload");
    let with_file = chat_core::usecases::messages::send_with_files(
        &ctx,
        &alice,
        &created.room.id,
        None,
        None,
        &[chat_core::usecases::attachments::named(&slot.id, Some("notes.txt")).expect("named")],
    )
    .await
    .expect("send a file");
    World {
        with_file: with_file.message.id.to_string(),
        attachment: slot.id.clone(),
        ctx,
        counter,
        access: tokens.access,
        refresh: tokens.refresh,
        alice: ids[0].clone(),
        bob: ids[1].clone(),
        carol: ids[2].clone(),
        room: created.room.id.to_string(),
        message: sent.message.id.to_string(),
        direct_with: ids[3].clone(),
    }
}

fn request(
    w: &World,
    method: &str,
    params: &[(&str, &str)],
    body: Value,
    auth: bool,
) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if auth {
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", w.access)).expect("header"),
        );
    }
    ApiRequest {
        method: Method::from_bytes(method.as_bytes()).expect("method"),
        path_params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        query: Default::default(),
        headers,
        body: Bytes::from(body.to_string()),
        source_ip: None,
    }
}

/// A request that succeeds on each route, in an order where each finds what it needs.
fn scenario(w: &World) -> Vec<(Route, ApiRequest)> {
    let room = w.room.as_str();
    vec![
        (
            Route::Register,
            request(
                w,
                "POST",
                &[],
                json!({"username": "erin", "email": "erin@example.com", "password": "correct horse battery"}),
                false,
            ),
        ),
        (
            Route::ResendOtp,
            request(
                w,
                "POST",
                &[],
                json!({"email": "someone@example.com"}),
                false,
            ),
        ),
        (
            Route::VerifyEmail,
            request(
                w,
                "POST",
                &[],
                json!({"email": "erin@example.com", "otp": "000000"}),
                false,
            ),
        ),
        (
            Route::Token,
            request(
                w,
                "POST",
                &[],
                json!({"email": "alice@example.com", "password": "correct horse battery"}),
                false,
            ),
        ),
        (Route::ProfileGet, request(w, "GET", &[], json!({}), true)),
        (
            Route::ProfileUpdate,
            request(
                w,
                "PATCH",
                &[],
                json!({"username": "alice2", "bio": "hi"}),
                true,
            ),
        ),
        (
            Route::BlockAdd,
            request(w, "POST", &[], json!({"user_id": w.carol}), true),
        ),
        (Route::BlocksList, request(w, "GET", &[], json!({}), true)),
        (Route::UserLookup, {
            let mut lookup = request(w, "GET", &[], json!({}), true);
            lookup.query.insert("username".into(), "bob".into());
            lookup
        }),
        (
            Route::BlockRemove,
            request(w, "DELETE", &[("user_id", &w.carol)], json!({}), true),
        ),
        (
            Route::RoomsCreate,
            request(
                w,
                "POST",
                &[],
                json!({"name": "New", "type": "group", "members": [w.carol]}),
                true,
            ),
        ),
        (Route::RoomsList, request(w, "GET", &[], json!({}), true)),
        (
            Route::RoomGet,
            request(w, "GET", &[("id", room)], json!({}), true),
        ),
        (
            Route::MessagesSend,
            request(
                w,
                "POST",
                &[("id", room)],
                json!({"message": "hi", "client_id": "c1"}),
                true,
            ),
        ),
        (
            Route::MessagesList,
            request(w, "GET", &[("id", room)], json!({}), true),
        ),
        (
            Route::MembersAdd,
            request(
                w,
                "POST",
                &[("id", room)],
                json!({"user_id": w.carol}),
                true,
            ),
        ),
        (
            Route::MembersList,
            request(w, "GET", &[("id", room)], json!({}), true),
        ),
        (
            Route::MemberUpdate,
            request(
                w,
                "PATCH",
                &[("id", room), ("user_id", &w.carol)],
                json!({"role": "admin"}),
                true,
            ),
        ),
        (
            Route::MemberRemove,
            request(
                w,
                "DELETE",
                &[("id", room), ("user_id", &w.carol)],
                json!({}),
                true,
            ),
        ),
        (
            Route::RoomRead,
            request(
                w,
                "POST",
                &[("id", room)],
                json!({"message_id": w.message}),
                true,
            ),
        ),
        (
            Route::AttachmentCreate,
            request(
                w,
                "POST",
                &[("id", room)],
                json!({"content_type": "text/plain", "size": 5}),
                true,
            ),
        ),
        (
            Route::AttachmentGet,
            request(
                w,
                "GET",
                &[
                    ("id", room),
                    ("message_id", &w.with_file),
                    ("attachment_id", &w.attachment),
                ],
                json!({}),
                true,
            ),
        ),
        (
            Route::ReactionAdd,
            request(
                w,
                "POST",
                &[("id", room), ("message_id", &w.message)],
                json!({"emoji": "👍"}),
                true,
            ),
        ),
        (Route::ReactionRemove, {
            let mut remove = request(
                w,
                "DELETE",
                &[("id", room), ("message_id", &w.message)],
                json!({}),
                true,
            );
            remove.query.insert("emoji".into(), "👍".into());
            remove
        }),
        (
            Route::RoomMute,
            request(w, "PUT", &[("id", room)], json!({"muted": true}), true),
        ),
        (
            Route::MessageEdit,
            request(
                w,
                "PATCH",
                &[("id", room), ("message_id", &w.message)],
                json!({"message": "edited"}),
                true,
            ),
        ),
        (
            Route::MessageDelete,
            request(
                w,
                "DELETE",
                &[("id", room), ("message_id", &w.message)],
                json!({}),
                true,
            ),
        ),
        (
            Route::RoomLeave,
            request(w, "POST", &[("id", room)], json!({}), false),
        ),
        (
            Route::DirectChat,
            request(w, "POST", &[("user_id", &w.direct_with)], json!({}), true),
        ),
        (
            Route::TokenRefresh,
            request(w, "POST", &[], json!({"refresh": w.refresh}), false),
        ),
        (
            Route::Logout,
            request(w, "POST", &[], json!({"refresh": w.refresh}), false),
        ),
        (
            Route::PasswordReset,
            request(w, "POST", &[], json!({"email": "dave@example.com"}), false),
        ),
        (
            Route::PasswordResetConfirm,
            request(
                w,
                "POST",
                &[],
                json!({"email": "dave@example.com", "otp": KNOWN_CODE, "new_password": "a brand new passphrase"}),
                false,
            ),
        ),
    ]
}

/// The code the scenario's password reset is confirmed with.
const KNOWN_CODE: &str = "123456";

/// Replaces dave's mailed code with [`KNOWN_CODE`].
async fn plant_known_code(w: &World) {
    let email = chat_core::domain::Email::parse("dave@example.com").expect("email");
    let user = w
        .ctx
        .users
        .user_by_email(&email)
        .await
        .expect("read")
        .expect("dave");
    let record = chat_core::ports::OtpRecord {
        code_hash: w.ctx.otp.hash(&email, KNOWN_CODE).expect("hash"),
        email,
        user_id: user.id,
        expires_at: w.ctx.clock.now().plus_secs(600),
        attempts: 0,
        pending: None,
    };
    w.ctx.otps.put_otp(&record).await.expect("put");
}

#[tokio::test]
async fn every_function_policy_covers_the_dynamodb_actions_its_code_calls() {
    let w = world().await;
    let policies = policies();
    let mut checked = BTreeSet::new();
    let mut observed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (route, mut request) in scenario(&w) {
        if route == Route::RoomLeave {
            // Bob leaves, so that the room keeps its admin.
            let bob_token = {
                let claims = chat_core::security::jwt::Claims {
                    sub: w.bob.clone(),
                    token_type: chat_core::security::jwt::TokenType::Access,
                    exp: w.ctx.clock.now().secs() + 600,
                    iat: w.ctx.clock.now().secs(),
                    jti: "j".into(),
                    fam: None,
                };
                w.ctx.jwt.sign(&claims).expect("sign")
            };
            request.headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {bob_token}")).expect("header"),
            );
        }
        if route == Route::PasswordResetConfirm {
            plant_known_code(&w).await;
        }
        w.counter.reset();
        let response = handle(&w.ctx, route, request).await;
        let function = route.spec().function;
        let ok =
            response.status.is_success() || (route == Route::VerifyEmail && response.status == 400);
        assert!(
            ok,
            "{function}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        observed.insert(function.to_owned(), w.counter.actions());
        checked.insert(function.to_owned());
    }
    let events = [
        ("ws-connect", "$connect", None),
        (
            "ws-default",
            "$default",
            Some(json!({"action": "send", "room_id": w.room, "message": "hello"}).to_string()),
        ),
        ("ws-disconnect", "$disconnect", None),
    ];
    for (function, route_key, body) in events {
        let mut event = WsEvent {
            request_context: WsRequestContext {
                route_key: route_key.into(),
                connection_id: "Q2Vubm5lY3Rpb24=".into(),
                ..Default::default()
            },
            body,
            ..Default::default()
        };
        if route_key == "$connect" {
            // The scenario logged the first session out and reset the
            // password: a socket opens with a token of a session still going.
            let now = w.ctx.clock.now().secs();
            let claims = chat_core::security::jwt::Claims {
                sub: w.alice.clone(),
                token_type: chat_core::security::jwt::TokenType::Access,
                exp: now + 600,
                iat: now,
                jti: "j2".into(),
                fam: Some("a-session-still-going".into()),
            };
            let token = w.ctx.jwt.sign(&claims).expect("sign");
            event.query_string_parameters = Some([("token".to_owned(), token)].into());
        }
        w.counter.reset();
        let answer = ws::handle(&w.ctx, event).await;
        assert_eq!(answer.status_code, 200, "{function}: {answer:?}");
        observed.insert(function.to_owned(), w.counter.actions());
        checked.insert(function.to_owned());
    }
    // The authorizer reads the token with no store at all.
    let authorizer = chat_functions::route::AUTHORIZER_FUNCTION;
    w.counter.reset();
    let answer = ws::authorize(&w.ctx, &ws::AuthorizerEvent::default());
    assert_eq!(answer.principal_id, "anonymous");
    observed.insert(authorizer.to_owned(), w.counter.actions());
    checked.insert(authorizer.to_owned());
    for (function, actions) in &observed {
        let allowed = &policies[function];
        let missing: Vec<String> = actions
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .filter(|a| !allowed.contains(a))
            .collect();
        assert!(
            missing.is_empty(),
            "{function} calls {missing:?} but its policy does not allow it"
        );
        let unused: Vec<&String> = allowed
            .iter()
            .filter(|a| {
                a.starts_with("dynamodb:") && !actions.contains(a.trim_start_matches("dynamodb:"))
            })
            .collect();
        println!("{function:<16} calls {actions:?}; allowed but not seen here: {unused:?}");
    }
    assert_eq!(
        checked.len(),
        policies.len(),
        "every function was exercised"
    );
}
