//! Starts a local gateway on a free port with a recording mailer and a
//! clock the test controls, and gives one helper per endpoint.

use std::sync::Arc;

use chat_core::adapters::{
    ChannelNotifier, ManualClock, MemoryBlobStore, MemoryStore, QueueLimits, RecordingMailer,
};
use chat_core::config::{Config, Secret, Settings};
use chat_core::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub mailer: Arc<RecordingMailer>,
    pub clock: Arc<ManualClock>,
    pub ctx: Arc<Ctx>,
    _shutdown: oneshot::Sender<()>,
}

/// A signed-up, verified, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// The settings the suites run with: the defaults, except that a sender is
/// not throttled (tests that are about it set their own limit).
pub fn settings() -> Settings {
    Settings {
        send_max_per_minute: 1_000_000,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings()).await
}

/// Which adapters the gateway under test runs on: the embedded ones,
/// (with `E2E_BACKEND=aws`) DynamoDB, S3 and SES on the moto emulator with the
/// API Gateway notifier posting to the gateway's own `@connections` API, or
/// (with `E2E_BACKEND=redis`) the Redis store on `REDIS_URL`.
pub fn backend() -> String {
    std::env::var("E2E_BACKEND").unwrap_or_default()
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_with_limits(settings, local_gateway::websocket::SocketLimits::default()).await
}

/// A gateway whose sockets close after the given idle time and lifetime.
pub async fn spawn_app_with_limits(
    settings: Settings,
    limits: local_gateway::websocket::SocketLimits,
) -> TestApp {
    spawn_app_with_queue(settings, limits, QueueLimits::default()).await
}

/// A gateway whose sockets also fall behind at `queue`.
pub async fn spawn_app_with_queue(
    settings: Settings,
    limits: local_gateway::websocket::SocketLimits,
    queue: QueueLimits,
) -> TestApp {
    let redis = (backend() == "redis").then(|| chat_tests::unique("chat"));
    spawn(settings, limits, queue, redis.as_deref()).await
}

/// A gateway on the Redis server of `REDIS_URL` under `prefix`, whatever
/// `E2E_BACKEND` says: two of them on one prefix are two processes of one
/// deployment.
pub async fn spawn_app_on_redis(prefix: &str) -> TestApp {
    spawn(
        settings(),
        local_gateway::websocket::SocketLimits::default(),
        QueueLimits::default(),
        Some(prefix),
    )
    .await
}

async fn spawn(
    settings: Settings,
    limits: local_gateway::websocket::SocketLimits,
    queue: QueueLimits,
    redis_prefix: Option<&str>,
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let config = Config {
        jwt_secret: Secret::new(b"test secret of at least thirty-two bytes".to_vec())
            .expect("secret"),
        settings,
    };
    let mailer = Arc::new(RecordingMailer::default());
    let clock = Arc::new(ManualClock::starting_now());
    let sockets = Arc::new(ChannelNotifier::new(queue));
    let mut relay = None;
    let (ctx, media) = if let Some(prefix) = redis_prefix {
        let url = chat_tests::redis_url();
        let store = chat_redis::RedisStore::connect(&url, prefix)
            .await
            .expect("connect to redis");
        let relaying = chat_redis::RedisRelay::start(&url, store.clone(), sockets.clone())
            .await
            .expect("relay");
        relay = Some(relaying.clone());
        let blobs = Arc::new(MemoryBlobStore::new(&base, &[7; 32]));
        let ctx = Ctx::with_store(
            &config,
            Arc::new(store),
            relaying.clone(),
            mailer.clone(),
            blobs.clone(),
            clock.clone(),
            Arc::new(chat_core::adapters::UlidGenerator::default()),
        );
        relaying.run(ctx.clone());
        (ctx, Some(blobs))
    } else if backend() == "aws" {
        let resources = chat_tests::provision().await;
        let aws = chat_aws::setup::AwsSettings {
            table: resources.table.clone(),
            bucket: Some(resources.bucket.clone()),
            websocket_endpoint: Some(format!("{base}/{}", local_gateway::websocket::LOCAL_STAGE)),
            picture_url_ttl: std::time::Duration::from_secs(900),
            s3_force_path_style: true,
        };
        let mut config = config;
        config.settings.mail_from = resources.mail_from.clone();
        let mut ctx = chat_aws::setup::context(
            &config,
            &aws,
            &resources.sdk,
            chat_aws::setup::Needs::ALL,
            None,
        )
        .expect("aws context");
        ctx.clock = clock.clone();
        // Mail goes to SES on the emulator and is also kept here, so that each
        // test reads its own codes (the emulator holds every test's mail).
        ctx.mailer = Arc::new(TeeMailer(ctx.mailer.clone(), mailer.clone()));
        (ctx, None)
    } else {
        let blobs = Arc::new(MemoryBlobStore::new(&base, &[7; 32]));
        let ctx = Ctx::with_store(
            &config,
            Arc::new(MemoryStore::new()),
            sockets.clone(),
            mailer.clone(),
            blobs.clone(),
            clock.clone(),
            Arc::new(chat_core::adapters::UlidGenerator::default()),
        );
        (ctx, Some(blobs))
    };
    let cors = local_gateway::config::GatewayConfig::from_lookup(|k| {
        (k == "CORS_ALLOWED_ORIGINS").then(|| "http://app.test".to_owned())
    })
    .expect("gateway config")
    .cors();
    let ctx = Arc::new(ctx);
    let app = local_gateway::app(
        ctx.clone(),
        local_gateway::Sockets {
            local: sockets,
            relay,
        },
        media.map(local_gateway::media::Media::Memory),
        cors,
        limits,
    );
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(local_gateway::serve(listener, app, async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::new(),
        mailer,
        clock,
        ctx,
        _shutdown: tx,
    }
}

/// Sends through the first mailer and records in the second.
struct TeeMailer(Arc<dyn chat_core::ports::Mailer>, Arc<RecordingMailer>);

#[async_trait::async_trait]
impl chat_core::ports::Mailer for TeeMailer {
    async fn send(&self, mail: &chat_core::ports::Mail) -> chat_core::Result<()> {
        self.0.send(mail).await?;
        self.1.send(mail).await
    }
}

/// A client that connects from another loopback address (`127.0.0.2`, …):
/// to the gateway, another caller, as another machine would be.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
        .build()
        .expect("client")
}

/// The body of a response, as JSON (Null when empty).
pub async fn body(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("body");
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"))
    }
}

impl TestApp {
    /// `/@connections/{id}` of `user`'s (first) live connection, the id
    /// escaped for a path (API Gateway's ids end in `=`).
    pub async fn connection_path(&self, user: &User) -> TestResult<String> {
        let id = chat_core::domain::UserId::parse(&user.id).ok_or("id")?;
        let connections = self
            .ctx
            .connections
            .connections_of(&[id], self.ctx.clock.now())
            .await?;
        let escaped: String = connections
            .first()
            .ok_or("a connection")?
            .id
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect();
        Ok(format!("/@connections/{escaped}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json_body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_from(&self.client, method, path, token, json_body)
            .await
    }

    /// [`TestApp::call`] through `client` (e.g. one of [`client_from`]).
    pub async fn call_from(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        token: Option<&str>,
        json_body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(value) = json_body {
            request = request.json(&value);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, body(response).await)
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(bytes);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, body(response).await)
    }

    /// Presents a refresh token (any JSON value, to try malformed ones too).
    pub async fn refresh(&self, token: impl Into<Value>) -> (StatusCode, Value) {
        let token: Value = token.into();
        self.post(
            "/api/users/token/refresh/",
            None,
            json!({ "refresh": token }),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, value: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(value)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        self.post(
            "/api/users/register/",
            None,
            json!({ "username": username, "email": email, "password": password }),
        )
        .await
    }

    /// The code in the newest mail to `email`.
    pub fn last_otp(&self, email: &str) -> Option<String> {
        let mail = self.mailer.sent_to(email).pop()?;
        mail.text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .map(str::to_owned)
    }

    pub async fn verify(&self, email: &str, otp: &str) -> (StatusCode, Value) {
        self.post(
            "/api/users/verify-email/",
            None,
            json!({ "email": email, "otp": otp }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/api/users/token/",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers, verifies with the mailed code and logs in.
    pub async fn user(&self, username: &str) -> User {
        let email = format!("{username}@example.com");
        let (status, _) = self.register(username, &email, PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "register {username}");
        let otp = self.last_otp(&email).expect("otp mailed");
        let (status, _) = self.verify(&email, &otp).await;
        assert_eq!(status, StatusCode::OK, "verify {username}");
        let (status, tokens) = self.login(&email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "login {username}");
        let (_, me) = self
            .get(
                "/api/users/profile/",
                tokens["access"].as_str().expect("access"),
            )
            .await;
        User {
            id: me["id"].as_str().expect("id").to_owned(),
            email,
            access: tokens["access"].as_str().expect("access").to_owned(),
            refresh: tokens["refresh"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Creates a group room owned by `admin` with `members`; returns its id.
    pub async fn group(&self, admin: &User, name: &str, members: &[&User]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let (status, room) = self
            .post(
                "/api/chat/rooms/",
                Some(&admin.access),
                json!({ "name": name, "type": "group", "members": ids }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{room}");
        room["id"].as_str().expect("room id").to_owned()
    }

    pub async fn send(&self, user: &User, room: &str, text: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/chat/rooms/{room}/messages/"),
            Some(&user.access),
            json!({ "message": text }),
        )
        .await
    }
}

/// A WebSocket client of the local gateway.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How long a test waits for an event that should come. Generous: on the
/// AWS pass every push goes through the emulator, which a full run loads
/// heavily (a passing test never waits this long).
pub const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

impl TestApp {
    /// Opens a socket at `path` (e.g. `/ws/?token=...`); the handshake's
    /// HTTP status on refusal.
    pub async fn ws(&self, path: &str) -> Result<WsClient, StatusCode> {
        let url = format!("{}{path}", self.base.replacen("http://", "ws://", 1));
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(StatusCode::from_u16(response.status().as_u16()).expect("status"))
            }
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    /// A per-user socket for `user` whose client reads only when the test
    /// does (a small receive buffer, so a server's pushes back up fast).
    pub async fn ws_stalled(&self, user: &User) -> TestResult<WsClient> {
        let addr: std::net::SocketAddr = self.base.trim_start_matches("http://").parse()?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        let tcp = socket.connect(addr).await?;
        let url = format!(
            "{}/ws/?token={}",
            self.base.replacen("http://", "ws://", 1),
            user.access
        );
        let (stream, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await?;
        Ok(WsClient { stream })
    }

    /// A per-user socket for `user`.
    pub async fn ws_user(&self, user: &User) -> WsClient {
        self.ws(&format!("/ws/?token={}", user.access))
            .await
            .expect("socket opens")
    }

    /// A per-room socket for `user`.
    pub async fn ws_room(&self, user: &User, room: &str) -> WsClient {
        self.ws(&format!("/ws/chat/{room}/?token={}", user.access))
            .await
            .expect("socket opens")
    }
}

impl WsClient {
    /// Sends any message (binary, or a raw frame a well-behaved client would
    /// not send).
    pub async fn send_message(&mut self, message: tokio_tungstenite::tungstenite::Message) {
        use futures_util::SinkExt;
        self.stream.send(message).await.expect("send");
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .expect("send frame");
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    /// The next JSON event, or None if none comes within `wait`.
    pub async fn next_within(&mut self, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        loop {
            let frame = tokio::time::timeout(wait, self.stream.next())
                .await
                .ok()??;
            match frame.ok()? {
                tokio_tungstenite::tungstenite::Message::Text(text) => {
                    return Some(serde_json::from_str(text.as_str()).expect("JSON event"))
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next event of type `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self
                .next_within(EVENT_WAIT)
                .await
                .unwrap_or_else(|| panic!("no {kind} event within {EVENT_WAIT:?}"));
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Every event of type `kind` that arrives until `quiet` passes without one.
    pub async fn drain(&mut self, kind: &str, quiet: std::time::Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(event) = self.next_within(quiet).await {
            if event["type"] == kind {
                out.push(event);
            }
        }
        out
    }

    /// The code of the close frame the server sends within `wait`, skipping
    /// events before it; None if the socket stays open or ends without one.
    pub async fn close_code(&mut self, wait: std::time::Duration) -> Option<u16> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = frame.ok()? {
                return frame.map(|f| u16::from(f.code));
            }
        }
    }

    /// Whether the server ends the socket (a close frame, or the connection
    /// dropped) within `wait`, skipping events before that; false if it
    /// stays open.
    pub async fn ends_within(&mut self, wait: std::time::Duration) -> bool {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_))) => return true,
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Closes the socket with a close frame.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
