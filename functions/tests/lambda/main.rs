//! The function binaries as Lambda runs them: each is started as its own
//! process against a Runtime API, configured only by the environment the
//! template gives it (the signing secret read from SSM), on the AWS adapters
//! (DynamoDB, S3, SES and SSM on the moto emulator, the WebSocket management
//! API served by the local gateway's `@connections`), and fed events shaped as
//! API Gateway sends them: JSON and base64 bodies, path and query parameters,
//! WebSocket `$connect`/`$default`/`$disconnect`.

mod events;
mod runtime;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use chat_core::adapters::{ChannelNotifier, SocketCommand};
use chat_tests::{provision, sent_mail, unique, AwsResources, TINY_PNG};
use events::{http_answer, ws_event, HttpAnswer, HttpRequest};
use runtime::Function;
use serde_json::{json, Value};

/// The one binary every function runs, told its route by `CHAT_ROUTE`.
const BINARY: &str = env!("CARGO_BIN_EXE_chat-lambda");

/// The deployed stack in miniature: resources on the emulator, the signing
/// secret in SSM, a WebSocket management API, and the function processes,
/// each started on its first invocation and kept warm.
struct Stack {
    aws: AwsResources,
    env: Vec<(String, String)>,
    sockets: Arc<ChannelNotifier>,
    functions: HashMap<&'static str, Function>,
}

impl Stack {
    async fn new() -> Self {
        let aws = provision().await;
        let parameter = format!("/{}/jwt-secret", unique("chat"));
        aws_sdk_ssm::Client::new(&aws.sdk)
            .put_parameter()
            .name(&parameter)
            .value("a signing secret of at least thirty-two bytes")
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put the secret on the emulator");

        let sockets = Arc::new(ChannelNotifier::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let management = format!("http://{}/prod", listener.local_addr().expect("addr"));
        tokio::spawn(local_gateway::serve(
            listener,
            local_gateway::management::router(local_gateway::Sockets::local(sockets.clone())),
            std::future::pending(),
        ));

        // What `infra/template.yaml` sets (Globals), pointed at the emulator.
        let env = [
            ("CHAT_BACKEND", "aws"),
            ("TABLE_NAME", aws.table.as_str()),
            ("BUCKET_NAME", aws.bucket.as_str()),
            ("WEBSOCKET_ENDPOINT", management.as_str()),
            ("JWT_SECRET_PARAMETER", parameter.as_str()),
            ("MAIL_FROM", aws.mail_from.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("RUST_LOG", "warn"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .chain(
            chat_tests::dynamodb_endpoint()
                .map(|endpoint| ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), endpoint)),
        )
        .collect();
        Self {
            aws,
            env,
            sockets,
            functions: HashMap::new(),
        }
    }

    async fn invoke(&mut self, name: &'static str, event: Value) -> Value {
        if !self.functions.contains_key(name) {
            let function = Function::start(name, BINARY, &self.env).await;
            self.functions.insert(name, function);
        }
        let function = self.functions.get_mut(name).expect("started above");
        function
            .invoke(event)
            .await
            .unwrap_or_else(|error| panic!("{name} reported an error: {error}"))
    }

    async fn http(&mut self, name: &'static str, request: HttpRequest) -> HttpAnswer {
        http_answer(&self.invoke(name, request.event()).await)
    }

    /// Registers, verifies (with the code SES accepted) and logs in.
    async fn sign_up(&mut self, username: &str) -> Session {
        let email = format!("{}@example.com", unique(username));
        let registered = self
            .http(
                "register",
                HttpRequest::new("POST", "/api/users/register/").json(&json!({
                    "username": unique(username), "email": email, "password": "correct horse battery"
                })),
            )
            .await;
        assert_eq!(registered.status, 201, "{:?}", registered.body);
        let mail = sent_mail(&self.aws.endpoint, &email).await;
        let code = mail
            .last()
            .and_then(|m| {
                m.subject
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
            })
            .unwrap_or_else(|| panic!("no code mailed to {email}: {mail:?}"))
            .to_owned();
        let verified = self
            .http(
                "verify-email",
                HttpRequest::new("POST", "/api/users/verify-email/")
                    .json(&json!({ "email": email, "otp": code })),
            )
            .await;
        assert_eq!(verified.status, 200, "{:?}", verified.body);
        let login = self
            .http(
                "token",
                HttpRequest::new("POST", "/api/users/token/")
                    .json(&json!({ "email": email, "password": "correct horse battery" })),
            )
            .await;
        assert_eq!(login.status, 200, "{:?}", login.body);
        let access = login.body["access"].as_str().expect("access").to_owned();
        let me = self
            .http(
                "profile-get",
                HttpRequest::new("GET", "/api/users/profile/").bearer(&access),
            )
            .await;
        assert_eq!(me.status, 200, "{:?}", me.body);
        Session {
            access,
            refresh: login.body["refresh"].as_str().expect("refresh").to_owned(),
            id: me.body["id"].as_str().expect("id").to_owned(),
        }
    }
}

impl Stack {
    async fn sam_http(
        &mut self,
        name: &'static str,
        request: HttpRequest,
        stage: &str,
    ) -> HttpAnswer {
        http_answer(&self.invoke(name, request.sam_event(stage)).await)
    }
}

/// A signed-in user.
struct Session {
    access: String,
    refresh: String,
    id: String,
}

/// The next frame pushed to a socket, as JSON.
async fn pushed(socket: &mut chat_core::adapters::SocketQueue) -> Value {
    match tokio::time::timeout(Duration::from_secs(10), socket.recv()).await {
        Ok(Some(SocketCommand::Send(text))) => serde_json::from_str(&text).expect("JSON frame"),
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_and_websocket_functions_serve_api_gateway_events() {
    let mut stack = Stack::new().await;
    let alice = stack.sign_up("alice").await.access;
    let Session {
        access: bob,
        id: bob_id,
        ..
    } = stack.sign_up("bob").await;

    // A picture, as API Gateway delivers a binary body: base64 in the event.
    let boundary = "----lambda-test-boundary";
    let mut multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"bio\"\r\n\r\non Lambda\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"profile_picture\"; filename=\"me.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    multipart.extend_from_slice(TINY_PNG);
    multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let updated = stack
        .http(
            "profile-update",
            HttpRequest::new("PATCH", "/api/users/profile/")
                .bearer(&alice)
                .binary(
                    &format!("multipart/form-data; boundary={boundary}"),
                    multipart,
                ),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["bio"], "on Lambda");
    let url = updated.body["profile_picture"]
        .as_str()
        .expect("a picture URL");
    let stored = reqwest::get(url)
        .await
        .expect("fetch the presigned URL")
        .bytes()
        .await
        .expect("picture bytes");
    assert_eq!(stored.as_ref(), TINY_PNG);

    // Path parameters: the direct chat with Bob, then the room.
    let direct = stack
        .http(
            "direct-chat",
            HttpRequest::new("POST", format!("/api/chat/direct-chat/{bob_id}/")).bearer(&alice),
        )
        .await;
    assert_eq!(direct.status, 201, "{:?}", direct.body);
    let room = direct.body["id"].as_str().expect("room id").to_owned();
    let shown = stack
        .http(
            "room-get",
            HttpRequest::new("GET", format!("/api/chat/rooms/{room}/")).bearer(&bob),
        )
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["member_count"], 2);

    // Bob connects with the token and room in the query: API Gateway asks
    // the authorizer first, then hands its context (with its own keys) to
    // every event of the connection.
    let authorized = stack
        .invoke(
            "ws-authorize",
            json!({
                "type": "REQUEST",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect",
                "headers": { "Host": "abcdef123.execute-api.us-east-1.amazonaws.com" },
                "queryStringParameters": { "token": bob, "room_id": room },
                "requestContext": { "routeKey": "$connect", "eventType": "CONNECT", "connectionId": "Bob0Conn=" }
            }),
        )
        .await;
    assert_eq!(
        authorized["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{authorized}"
    );
    assert_eq!(authorized["principalId"], bob_id.as_str(), "{authorized}");
    assert_eq!(
        authorized["context"]["room_id"],
        room.as_str(),
        "{authorized}"
    );
    let mut authorizer = authorized["context"].clone();
    authorizer["principalId"] = authorized["principalId"].clone();
    authorizer["integrationLatency"] = json!(3);
    let mut bob_socket = stack.sockets.register("Bob0Conn=");
    let mut connect = ws_event("$connect", "Bob0Conn=");
    connect["queryStringParameters"] = json!({ "token": bob, "room_id": room });
    connect["requestContext"]["authorizer"] = authorizer.clone();
    let connected = stack.invoke("ws-connect", connect).await;
    assert_eq!(connected["statusCode"], 200, "{connected}");

    // A REST send is pushed to Bob's connection through the management API.
    let sent = stack
        .http(
            "messages-send",
            HttpRequest::new("POST", format!("/api/chat/rooms/{room}/messages/"))
                .bearer(&alice)
                .json(&json!({ "message": "hello from a Lambda" })),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let sent_id = sent.body["id"].as_str().expect("id").to_owned();
    let event = pushed(&mut bob_socket).await;
    assert_eq!(
        (event["type"].as_str(), event["message"].as_str()),
        (Some("message"), Some("hello from a Lambda")),
        "{event}"
    );
    // Bob answers with the seed's frame through `$default`.
    let mut frame = ws_event("$default", "Bob0Conn=");
    frame["body"] = json!({ "message": "hi back" }).to_string().into();
    frame["requestContext"]["authorizer"] = authorizer;
    let answered = stack.invoke("ws-default", frame).await;
    assert_eq!(answered["statusCode"], 200, "{answered}");
    let own = loop {
        let event = pushed(&mut bob_socket).await;
        if event["type"] == "message" {
            break event;
        }
    };
    assert_eq!(own["message"], "hi back");

    // Query parameters: one message per page, newest first, with a cursor.
    let page = stack
        .http(
            "messages-list",
            HttpRequest::new("GET", format!("/api/chat/rooms/{room}/messages/"))
                .bearer(&alice)
                .query("limit", "1"),
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(page.body["results"][0]["message"], "hi back");
    assert_eq!(page.body["results"].as_array().map(Vec::len), Some(1));
    let cursor = page.body["next"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let older = stack
        .http(
            "messages-list",
            HttpRequest::new("GET", format!("/api/chat/rooms/{room}/messages/"))
                .bearer(&alice)
                .query("limit", "1")
                .query("before", &cursor),
        )
        .await;
    assert_eq!(
        older.body["results"][0]["message"], "hello from a Lambda",
        "{:?}",
        older.body
    );
    // Edited and deleted through their own functions, pushed the same way.
    let message_path = format!("/api/chat/rooms/{room}/messages/{}/", sent_id);
    let edited = stack
        .http(
            "message-edit",
            HttpRequest::new("PATCH", message_path.clone())
                .bearer(&alice)
                .json(&json!({ "message": "hello, edited" })),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    let event = pushed(&mut bob_socket).await;
    assert_eq!(
        (event["type"].as_str(), event["message"].as_str()),
        (Some("message_updated"), Some("hello, edited")),
        "{event}"
    );
    let reactions_path = format!("{message_path}reactions/");
    let reacted = stack
        .http(
            "reaction-add",
            HttpRequest::new("POST", reactions_path.clone())
                .bearer(&alice)
                .json(&json!({ "emoji": "👍" })),
        )
        .await;
    assert_eq!(reacted.status, 200, "{:?}", reacted.body);
    assert_eq!(
        reacted.body["reactions"],
        json!([{ "emoji": "👍", "count": 1, "me": true }])
    );
    let event = pushed(&mut bob_socket).await;
    assert_eq!(
        (event["type"].as_str(), &event["reactions"]),
        (
            Some("message_updated"),
            &json!([{ "emoji": "👍", "count": 1, "me": false }])
        ),
        "{event}"
    );
    let taken_back = stack
        .http(
            "reaction-remove",
            HttpRequest::new("DELETE", reactions_path)
                .bearer(&alice)
                .query("emoji", "👍"),
        )
        .await;
    assert_eq!(taken_back.status, 200, "{:?}", taken_back.body);
    assert_eq!(taken_back.body["reactions"], json!([]));
    let event = pushed(&mut bob_socket).await;
    assert_eq!(event["type"], "message_updated", "{event}");
    assert!(event.get("reactions").is_none(), "{event}");
    let deleted = stack
        .http(
            "message-delete",
            HttpRequest::new("DELETE", message_path).bearer(&alice),
        )
        .await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let event = pushed(&mut bob_socket).await;
    assert_eq!(event["type"], "message_deleted", "{event}");

    let disconnected = stack
        .invoke("ws-disconnect", ws_event("$disconnect", "Bob0Conn="))
        .await;
    assert_eq!(disconnected["statusCode"], 200, "{disconnected}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors_from_the_functions_not_crashes() {
    let mut stack = Stack::new().await;
    let alice = stack.sign_up("carol").await.access;

    let malformed = stack
        .http(
            "register",
            HttpRequest::new("POST", "/api/users/register/")
                .text("application/json", "{\"username\": \"x\", "),
        )
        .await;
    assert_eq!(malformed.status, 400, "{:?}", malformed.body);
    assert!(malformed.body["detail"].is_string(), "{:?}", malformed.body);

    let unknown_room = stack
        .http(
            "messages-send",
            HttpRequest::new(
                "POST",
                "/api/chat/rooms/01JN0000000000000000000000/messages/",
            )
            .bearer(&alice)
            .json(&json!({ "message": "anyone?" })),
        )
        .await;
    assert_eq!(unknown_room.status, 404, "{:?}", unknown_room.body);

    let anonymous = stack
        .http(
            "profile-get",
            HttpRequest::new("GET", "/api/users/profile/").bearer("not-a-token"),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{:?}", anonymous.body);

    let bad_limit = stack
        .http(
            "messages-list",
            HttpRequest::new(
                "GET",
                "/api/chat/rooms/01JN0000000000000000000000/messages/",
            )
            .bearer(&alice)
            .query("limit", "many"),
        )
        .await;
    assert_eq!(bad_limit.status, 400, "{:?}", bad_limit.body);

    let mut connect = ws_event("$connect", "Eve0Conn=");
    connect["queryStringParameters"] = json!({ "token": "forged" });
    let refused = stack.invoke("ws-connect", connect).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");

    // The processes are still serving after all of that.
    let still = stack
        .http(
            "profile-get",
            HttpRequest::new("GET", "/api/users/profile/").bearer(&alice),
        )
        .await;
    assert_eq!(still.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn group_rooms_and_sessions_through_their_functions() {
    let mut stack = Stack::new().await;
    let alice = stack.sign_up("alice").await;
    let bob = stack.sign_up("bob").await;
    let carol = stack.sign_up("carol").await;

    let created = stack
        .http(
            "rooms-create",
            HttpRequest::new("POST", "/api/chat/rooms/")
                .bearer(&alice.access)
                .json(&json!({ "name": "Lambda fans", "type": "group", "members": [bob.id] })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["member_count"], 2);
    let room = created.body["id"].as_str().expect("room id").to_owned();
    let members_path = format!("/api/chat/rooms/{room}/members/");

    let added = stack
        .http(
            "members-add",
            HttpRequest::new("POST", members_path.clone())
                .bearer(&alice.access)
                .json(&json!({ "user_id": carol.id })),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(
        (
            added.body["user"]["id"].as_str(),
            added.body["role"].as_str()
        ),
        (Some(carol.id.as_str()), Some("member"))
    );

    let promoted = stack
        .http(
            "member-update",
            HttpRequest::new("PATCH", format!("{members_path}{}/", bob.id))
                .bearer(&alice.access)
                .json(&json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    assert_eq!(promoted.body["role"], "admin");

    let roles = |body: &Value| -> Vec<(String, String)> {
        let mut roles: Vec<(String, String)> = body
            .as_array()
            .expect("a list of members")
            .iter()
            .map(|m| {
                (
                    m["user"]["id"].as_str().unwrap_or_default().to_owned(),
                    m["role"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        roles.sort();
        roles
    };
    let listed = stack
        .http(
            "members-list",
            HttpRequest::new("GET", members_path.clone()).bearer(&carol.access),
        )
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let mut expected = vec![
        (alice.id.clone(), "admin".to_owned()),
        (bob.id.clone(), "admin".to_owned()),
        (carol.id.clone(), "member".to_owned()),
    ];
    expected.sort();
    assert_eq!(roles(&listed.body), expected);

    let rooms_of = |body: &Value| -> Vec<String> {
        body.as_array()
            .expect("a list of rooms")
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect()
    };
    let carols = stack
        .http(
            "rooms-list",
            HttpRequest::new("GET", "/api/chat/rooms/").bearer(&carol.access),
        )
        .await;
    assert_eq!(rooms_of(&carols.body), vec![room.clone()]);

    let removed = stack
        .http(
            "member-remove",
            HttpRequest::new("DELETE", format!("{members_path}{}/", carol.id)).bearer(&bob.access),
        )
        .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let carols = stack
        .http(
            "rooms-list",
            HttpRequest::new("GET", "/api/chat/rooms/").bearer(&carol.access),
        )
        .await;
    assert_eq!(rooms_of(&carols.body), Vec::<String>::new());

    let left = stack
        .http(
            "room-leave",
            HttpRequest::new("POST", format!("/api/chat/rooms/{room}/leave/"))
                .bearer(&alice.access),
        )
        .await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    let listed = stack
        .http(
            "members-list",
            HttpRequest::new("GET", members_path).bearer(&bob.access),
        )
        .await;
    assert_eq!(
        roles(&listed.body),
        vec![(bob.id.clone(), "admin".to_owned())]
    );

    // Codes: the answer is the same whatever the limits (they hold for
    // addresses with no account too; the end-to-end suite counts the mail).
    let nobody = json!({ "email": format!("{}@example.com", unique("nobody")) });
    let first = stack
        .http(
            "resend-otp",
            HttpRequest::new("POST", "/api/users/resend-otp/").json(&nobody),
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let again = stack
            .http(
                "resend-otp",
                HttpRequest::new("POST", "/api/users/resend-otp/").json(&nobody),
            )
            .await;
        statuses.push(again.status);
    }
    assert_eq!(statuses, [200, 200]);

    // Password reset: the same answer for an address with no account; a
    // wrong code is a field error, not a crash.
    let reset = stack
        .http(
            "password-reset",
            HttpRequest::new("POST", "/api/users/password-reset/").json(&nobody),
        )
        .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    let confirm = stack
        .http(
            "password-reset-confirm",
            HttpRequest::new("POST", "/api/users/password-reset/confirm/").json(&json!({
                "email": nobody["email"],
                "otp": "000000",
                "new_password": "a brand new passphrase",
            })),
        )
        .await;
    assert_eq!(confirm.status, 400, "{:?}", confirm.body);

    // Sessions: rotation, reuse refused, logout ends the family.
    let rotated = stack
        .http(
            "token-refresh",
            HttpRequest::new("POST", "/api/users/token/refresh/")
                .json(&json!({ "refresh": alice.refresh })),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let newer = rotated.body["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(newer, alice.refresh);
    // Replayed from another address (the same client may present it again
    // for a few seconds: two tabs refreshing at once).
    let reused = stack
        .http(
            "token-refresh",
            HttpRequest::new("POST", "/api/users/token/refresh/")
                .source_ip("198.51.100.7")
                .json(&json!({ "refresh": alice.refresh })),
        )
        .await;
    assert_eq!(reused.status, 401, "{:?}", reused.body);
    let out = stack
        .http(
            "logout",
            HttpRequest::new("POST", "/api/users/logout/").json(&json!({ "refresh": bob.refresh })),
        )
        .await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    let after = stack
        .http(
            "token-refresh",
            HttpRequest::new("POST", "/api/users/token/refresh/")
                .json(&json!({ "refresh": bob.refresh })),
        )
        .await;
    assert_eq!(after.status, 401, "{:?}", after.body);
}

/// Every function binary of the template is started by one of the tests
/// above, so a binary serving the wrong route cannot go unnoticed.
/// Lambda scales a busy route out to several instances, each its own
/// process with its own connections: four `messages-send` instances and two
/// `ws-default` ones send into one room at once, and the room's seqs come
/// out 1..=N, each once, in the order catch-up and history agree on.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_function_instances_number_a_rooms_messages_without_gaps() {
    const REST_INSTANCES: usize = 4;
    const WS_INSTANCES: usize = 2;
    const EACH: usize = 15;
    let mut stack = Stack::new().await;
    let alice = stack.sign_up("alice").await;
    let created = stack
        .http(
            "rooms-create",
            HttpRequest::new("POST", "/api/chat/rooms/")
                .bearer(&alice.access)
                .json(&json!({ "name": "Busy", "type": "group", "members": [] })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let room = created.body["id"].as_str().expect("room id").to_owned();
    let connection = "Alice0Conn=";
    let _socket = stack.sockets.register(connection);
    let mut connect = ws_event("$connect", connection);
    connect["queryStringParameters"] = json!({ "token": alice.access, "room_id": room });
    assert_eq!(stack.invoke("ws-connect", connect).await["statusCode"], 200);

    let mut instances = Vec::new();
    for i in 0..REST_INSTANCES + WS_INSTANCES {
        let name = if i < REST_INSTANCES {
            "messages-send"
        } else {
            "ws-default"
        };
        instances.push((i, Function::start(name, BINARY, &stack.env).await));
    }
    let senders = instances.into_iter().map(|(i, mut function)| {
        let (room, access) = (room.clone(), alice.access.clone());
        tokio::spawn(async move {
            for k in 0..EACH {
                let text = format!("i{i}-m{k}");
                if i < REST_INSTANCES {
                    let request =
                        HttpRequest::new("POST", format!("/api/chat/rooms/{room}/messages/"))
                            .bearer(&access)
                            .json(&json!({ "message": text }));
                    let answer =
                        http_answer(&function.invoke(request.event()).await.expect("answered"));
                    assert_eq!(answer.status, 201, "{:?}", answer.body);
                } else {
                    let mut frame = ws_event("$default", connection);
                    frame["body"] = json!({ "message": text }).to_string().into();
                    let answer = function.invoke(frame).await.expect("answered");
                    assert_eq!(answer["statusCode"], 200, "{answer}");
                }
            }
        })
    });
    let senders: Vec<_> = senders.collect();
    for sender in senders {
        sender.await.expect("a sender panicked");
    }

    let total = (REST_INSTANCES + WS_INSTANCES) * EACH;
    let page = stack
        .http(
            "messages-list",
            HttpRequest::new("GET", format!("/api/chat/rooms/{room}/messages/"))
                .bearer(&alice.access)
                .query("after_seq", "0")
                .query("limit", "100"),
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let results = page.body["results"].as_array().cloned().unwrap_or_default();
    let seqs: Vec<u64> = results.iter().filter_map(|m| m["seq"].as_u64()).collect();
    let expected: Vec<u64> = (1..=u64::try_from(total).expect("small")).collect();
    assert_eq!(seqs, expected, "contiguous, each once, oldest first");
    let texts: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    assert_eq!(texts.len(), total, "every message stored once");
    let rooms = stack
        .http(
            "rooms-list",
            HttpRequest::new("GET", "/api/chat/rooms/").bearer(&alice.access),
        )
        .await;
    assert_eq!(rooms.body[0]["last_seq"], total);
}

/// Events made by AWS's own tool, not only this suite's hand-built ones:
/// SAM's `http-api-proxy` event (with its cookies, authorizer claims,
/// client certificate and a source IP written as `192.168.0.1/32`) for
/// each kind of request, on the default stage and a named one.
#[tokio::test(flavor = "multi_thread")]
async fn functions_serve_the_events_sam_generates() {
    let mut stack = Stack::new().await;
    let alice = stack.sign_up("alice").await;
    let bob = stack.sign_up("bob").await;

    let name = unique("sam");
    let registered = stack
        .sam_http(
            "register",
            HttpRequest::new("POST", "/api/users/register/").json(&json!({
                "username": name, "email": format!("{name}@example.com"), "password": "correct horse battery"
            })),
            "$default",
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);

    let me = stack
        .sam_http(
            "profile-get",
            HttpRequest::new("GET", "/api/users/profile/").bearer(&alice.access),
            "prod",
        )
        .await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["id"], alice.id.as_str());

    let room = stack
        .sam_http(
            "direct-chat",
            HttpRequest::new("POST", format!("/api/chat/direct-chat/{}/", bob.id))
                .bearer(&alice.access),
            "$default",
        )
        .await;
    assert_eq!(room.status, 201, "{:?}", room.body);
    let room_id = room.body["id"].as_str().expect("room id").to_owned();

    for text in ["first", "second"] {
        let sent = stack
            .sam_http(
                "messages-send",
                HttpRequest::new("POST", format!("/api/chat/rooms/{room_id}/messages/"))
                    .bearer(&alice.access)
                    .json(&json!({ "message": text })),
                "prod",
            )
            .await;
        assert_eq!(sent.status, 201, "{:?}", sent.body);
    }
    let page = stack
        .sam_http(
            "messages-list",
            HttpRequest::new("GET", format!("/api/chat/rooms/{room_id}/messages/"))
                .bearer(&bob.access)
                .query("limit", "1"),
            "$default",
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(page.body["results"][0]["message"], "second");
    assert_eq!(
        page.body["results"].as_array().map(Vec::len),
        Some(1),
        "the query reached the function"
    );

    // Bad input through SAM's event is still a clean JSON error.
    let refused = stack
        .sam_http(
            "messages-send",
            HttpRequest::new("POST", format!("/api/chat/rooms/{room_id}/messages/"))
                .bearer(&bob.access)
                .text("application/json", "{not json"),
            "$default",
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
}

/// Starts the function `route` with `env`, checks that its cold start fails
/// (the process exits unsuccessfully during init) and returns its log.
async fn failed_init_logs(route: &str, env: &[(String, String)]) -> String {
    let mut function = Function::start(route, BINARY, env).await;
    let status = function
        .exit_status(Duration::from_secs(30))
        .await
        .expect("the process exits during init");
    assert!(!status.success(), "{status}");
    function.logs()
}

#[tokio::test]
async fn a_function_whose_route_is_unknown_or_unset_fails_its_init_and_says_why() {
    for (route, expected) in [
        (
            "messages-sned",
            "CHAT_ROUTE=\"messages-sned\" names no route",
        ),
        ("", "CHAT_ROUTE is not set"),
    ] {
        let logs = failed_init_logs(route, &[]).await;
        assert!(logs.contains(expected), "the log says why: {logs}");
        if !route.is_empty() {
            assert!(
                logs.contains("messages-send"),
                "and names the routes: {logs}"
            );
        }
    }
}

#[tokio::test]
async fn a_function_whose_secret_is_missing_fails_its_init_and_says_why() {
    let aws = provision().await;
    let env: Vec<(String, String)> = [
        ("CHAT_BACKEND", "aws"),
        ("TABLE_NAME", aws.table.as_str()),
        ("JWT_SECRET_PARAMETER", "/chat/no-such-parameter"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let logs = failed_init_logs("profile-get", &env).await;
    assert!(
        logs.contains("signing secret") && logs.contains("/chat/no-such-parameter"),
        "the log names what is missing: {logs}"
    );
}
