//! Lambda start-up, measured locally: each function binary is started against
//! a stub of the Lambda Runtime API, and the report gives the time from
//! process start to its first `invocation/next` request (its init: tracing,
//! configuration, SDK and clients, the DynamoDB connection opened), the
//! first and the second invocation round trips, the peak RSS and the
//! binary's and zip's sizes, next to a hello-world `lambda_runtime` binary
//! measured in the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};

use crate::stats;

/// One binary's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub init: Duration,
    pub first: Duration,
    pub second: Duration,
    pub peak_rss_kib: Option<u64>,
    pub size_bytes: u64,
    pub zip_bytes: Option<u64>,
}

#[derive(Debug)]
enum Seen {
    Next(Instant),
    Done(Instant),
}

#[derive(Clone)]
struct Stub {
    seen: mpsc::UnboundedSender<Seen>,
    events: Arc<Mutex<std::collections::VecDeque<Value>>>,
}

async fn next(State(stub): State<Stub>) -> impl IntoResponse {
    let _ = stub.seen.send(Seen::Next(Instant::now()));
    // Each call gets the next event; once they are used up, calls wait (the
    // function is idle).
    let event = stub.events.lock().await.pop_front();
    let Some(event) = event else {
        std::future::pending::<()>().await;
        return (HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("lambda-runtime-aws-request-id", "req-1"),
        ("lambda-runtime-deadline-ms", "9999999999999"),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:bench",
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000",
        ),
    ] {
        if let Ok(value) = v.parse() {
            headers.insert(k, value);
        }
    }
    (headers, event.to_string())
}

async fn done(State(stub): State<Stub>) -> impl IntoResponse {
    let _ = stub.seen.send(Seen::Done(Instant::now()));
    axum::http::StatusCode::ACCEPTED
}

/// The event a binary gets: one it answers without any I/O (a refused or
/// unauthenticated request), so that the figure is the function's own cost.
fn event_for(name: &str) -> Value {
    if name.starts_with("ws-") || name == "hello-lambda" {
        json!({
            "requestContext": { "routeKey": "$connect", "connectionId": "c1=", "eventType": "CONNECT", "stage": "bench", "domainName": "localhost" },
            "headers": {}, "isBase64Encoded": false
        })
    } else {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/api/users/profile/", "rawQueryString": "",
            "headers": { "content-type": "application/json" },
            "requestContext": {
                "accountId": "000000000000", "apiId": "bench", "domainName": "localhost", "domainPrefix": "bench",
                "http": { "method": "GET", "path": "/api/users/profile/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "loadgen" },
                "requestId": "r1", "routeKey": "$default", "stage": "$default", "time": "26/Nov/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        })
    }
}

/// A request that reads DynamoDB and no CPU-heavy work: a code for an
/// address nobody registered (one conditional update, refused), so that the
/// first invocation after a cold start shows what the connection costs.
pub fn io_event() -> Value {
    let mut event = event_for("verify-email");
    event["rawPath"] = "/api/users/verify-email/".into();
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = "/api/users/verify-email/".into();
    event["body"] = json!({ "email": "nobody@example.com", "otp": "123456" })
        .to_string()
        .into();
    event
}

/// Measures one binary over two invocations of `event` (the route's I/O-free
/// event when `None`), with `extra_env` added to the function's environment.
pub async fn measure(
    path: &Path,
    name: &str,
    aws_endpoint: &str,
    event: Option<Value>,
    extra_env: &[(String, String)],
) -> Result<Row, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let event = event.unwrap_or_else(|| event_for(name));
    let stub = Stub {
        seen: tx,
        events: Arc::new(Mutex::new([event.clone(), event].into())),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(done))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(done))
        .route("/2018-06-01/runtime/init/error", post(done))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    let mut child = Command::new(path)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("CHAT_ROUTE", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_ENDPOINT_URL", aws_endpoint)
        .env("CHAT_BACKEND", "aws")
        .env("TABLE_NAME", "chat")
        .env("BUCKET_NAME", "pictures")
        .env("WEBSOCKET_ENDPOINT", format!("{aws_endpoint}/bench"))
        .env("JWT_SECRET", "start-up benchmark secret of 32 bytes!")
        .env("RUST_LOG", "error")
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let first = match wait(&mut rx).await {
        Some(Seen::Next(at)) => at,
        other => {
            let _ = child.kill();
            return Err(format!("{name}: no first request ({other:?})"));
        }
    };
    let mut rounds = Vec::new();
    let mut asked = first;
    for round in ["first", "second"] {
        let answered = match wait(&mut rx).await {
            Some(Seen::Done(at)) => at,
            other => {
                let _ = child.kill();
                return Err(format!("{name}: no {round} response ({other:?})"));
            }
        };
        rounds.push(answered.duration_since(asked));
        // The function asks for the next event once it is idle again.
        asked = match wait(&mut rx).await {
            Some(Seen::Next(at)) => at,
            other => {
                let _ = child.kill();
                return Err(format!("{name}: no request after the {round} ({other:?})"));
            }
        };
    }
    let peak_rss_kib = stats::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    Ok(Row {
        name: name.to_owned(),
        init: first.duration_since(started),
        first: rounds[0],
        second: rounds[1],
        peak_rss_kib,
        size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        zip_bytes: std::fs::metadata(path.with_file_name("bootstrap.zip"))
            .map(|m| m.len())
            .ok(),
    })
}

/// Every function, by the name its `CHAT_ROUTE` takes.
pub const FUNCTIONS: &[&str] = &[
    "register",
    "verify-email",
    "resend-otp",
    "token",
    "token-refresh",
    "logout",
    "password-reset",
    "password-reset-confirm",
    "profile-get",
    "profile-update",
    "user-lookup",
    "blocks-list",
    "block-add",
    "block-remove",
    "rooms-list",
    "rooms-create",
    "room-get",
    "messages-list",
    "messages-send",
    "message-edit",
    "message-delete",
    "attachment-create",
    "attachment-get",
    "reaction-add",
    "reaction-remove",
    "members-list",
    "members-add",
    "member-update",
    "member-remove",
    "room-leave",
    "room-read",
    "room-mute",
    "direct-chat",
    "ws-authorize",
    "ws-connect",
    "ws-default",
    "ws-disconnect",
];

/// The functions to measure, each with the binary that runs it: the one
/// `chat-lambda` binary, from `<dir>/chat-lambda/bootstrap` (what
/// cargo-lambda builds) or the release build beside this program.
pub fn binaries(dir: Option<PathBuf>) -> Vec<(String, PathBuf)> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let candidates = [
        dir.as_ref()
            .map(|d| d.join("chat-lambda").join("bootstrap")),
        exe_dir.as_ref().map(|d| d.join("chat-lambda")),
    ];
    let Some(binary) = candidates.into_iter().flatten().find(|p| p.exists()) else {
        return Vec::new();
    };
    FUNCTIONS
        .iter()
        .map(|name| ((*name).to_owned(), binary.clone()))
        .collect()
}

pub fn print(title: &str, rows: &[Row], hello: &Row) {
    println!("{title}:");
    println!(
        "  {:<18} {:>8} {:>7} {:>8} {:>8} {:>8} {:>9} {:>8}",
        "function", "init ms", "x hello", "1st ms", "2nd ms", "RSS MiB", "size MiB", "zip MiB"
    );
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let line = |r: &Row| {
        println!(
            "  {:<18} {:>8.2} {:>7.1} {:>8.3} {:>8.3} {:>8.1} {:>9.2} {:>8}",
            r.name,
            stats::ms(r.init),
            r.init.as_secs_f64() / hello.init.as_secs_f64().max(1e-9),
            r.first.as_secs_f64() * 1000.0,
            r.second.as_secs_f64() * 1000.0,
            r.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            mib(r.size_bytes),
            r.zip_bytes
                .map_or_else(String::new, |z| format!("{:.2}", mib(z))),
        )
    };
    line(hello);
    for r in rows {
        line(r);
    }
}

pub fn to_json(rows: &[Row], hello: &Row) -> Value {
    let row = |r: &Row| {
        json!({
            "function": r.name, "init_ms": stats::ms(r.init), "init_ratio_to_hello": r.init.as_secs_f64() / hello.init.as_secs_f64().max(1e-9),
            "first_invoke_ms": r.first.as_secs_f64() * 1000.0, "second_invoke_ms": r.second.as_secs_f64() * 1000.0,
            "peak_rss_kib": r.peak_rss_kib, "size_bytes": r.size_bytes, "zip_bytes": r.zip_bytes,
        })
    };
    json!({ "hello": row(hello), "functions": rows.iter().map(row).collect::<Vec<_>>() })
}

/// Creates the table the functions use on an emulator (moto, DynamoDB
/// Local) at `endpoint`, unless it is there: keys `pk`/`sk`, on demand.
pub async fn create_table(endpoint: &str, table: &str) -> Result<(), String> {
    let body = json!({
        "TableName": table,
        "AttributeDefinitions": [
            { "AttributeName": "pk", "AttributeType": "S" },
            { "AttributeName": "sk", "AttributeType": "S" }
        ],
        "KeySchema": [
            { "AttributeName": "pk", "KeyType": "HASH" },
            { "AttributeName": "sk", "KeyType": "RANGE" }
        ],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let answer = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.CreateTable")
        // Emulators read the region and key id from it; they check no signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=bench/20261128/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("creating the table on {endpoint}: {e}"))?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    if status.is_success() || text.contains("ResourceInUseException") {
        Ok(())
    } else {
        Err(format!("creating the table on {endpoint}: {status} {text}"))
    }
}

async fn wait(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Option<Seen> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .ok()
        .flatten()
}
