//! Lambda start-up, measured locally: each function binary is started against
//! a stub of the Lambda Runtime API, and the report gives the time from
//! process start to its first `invocation/next` request (its init: tracing,
//! configuration, SDK and clients), one warm invocation round trip, the peak
//! RSS and the binary's size, next to a hello-world `lambda_runtime` binary
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
    pub invoke: Duration,
    pub peak_rss_kib: Option<u64>,
    pub size_bytes: u64,
}

#[derive(Debug)]
enum Seen {
    Next(Instant),
    Done(Instant),
}

#[derive(Clone)]
struct Stub {
    seen: mpsc::UnboundedSender<Seen>,
    event: Arc<Mutex<Option<Value>>>,
}

async fn next(State(stub): State<Stub>) -> impl IntoResponse {
    let _ = stub.seen.send(Seen::Next(Instant::now()));
    // The first call gets the event; later calls wait (the function is idle).
    let event = stub.event.lock().await.take();
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

/// Measures one binary.
pub async fn measure(path: &Path, name: &str, aws_endpoint: &str) -> Result<Row, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stub = Stub {
        seen: tx,
        event: Arc::new(Mutex::new(Some(event_for(name)))),
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
    let finished = match wait(&mut rx).await {
        Some(Seen::Done(at)) => at,
        other => {
            let _ = child.kill();
            return Err(format!("{name}: no response ({other:?})"));
        }
    };
    // The function asks for the next event once it is idle again.
    let _ = wait(&mut rx).await;
    let peak_rss_kib = stats::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    Ok(Row {
        name: name.to_owned(),
        init: first.duration_since(started),
        invoke: finished.duration_since(first),
        peak_rss_kib,
        size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}

/// The function binaries to measure: `target/lambda/<name>/bootstrap` (what
/// cargo-lambda builds) or the release binaries beside this program.
pub fn binaries(dir: Option<PathBuf>) -> Vec<(String, PathBuf)> {
    let names = [
        "register",
        "verify-email",
        "resend-otp",
        "token",
        "token-refresh",
        "logout",
        "profile-get",
        "profile-update",
        "rooms-list",
        "rooms-create",
        "room-get",
        "messages-list",
        "messages-send",
        "message-edit",
        "message-delete",
        "reaction-add",
        "reaction-remove",
        "user-lookup",
        "blocks-list",
        "block-add",
        "block-remove",
        "room-mute",
        "attachment-create",
        "attachment-get",
        "members-list",
        "members-add",
        "member-update",
        "member-remove",
        "room-leave",
        "room-read",
        "direct-chat",
        "ws-connect",
        "ws-default",
        "ws-disconnect",
    ];
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    names
        .iter()
        .filter_map(|name| {
            let candidates = [
                dir.as_ref().map(|d| d.join(name).join("bootstrap")),
                exe_dir.as_ref().map(|d| d.join(name)),
            ];
            candidates
                .into_iter()
                .flatten()
                .find(|p| p.exists())
                .map(|p| ((*name).to_owned(), p))
        })
        .collect()
}

pub fn print(rows: &[Row], hello: &Row) {
    println!("Lambda start-up (local Runtime API stub; warm invocation answered without I/O):");
    println!(
        "  {:<16} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}",
        "function", "init ms", "x hello", "invoke ms", "RSS MiB", "size MiB", "x hello"
    );
    let line = |r: &Row| {
        println!(
            "  {:<16} {:>9.2} {:>9.1} {:>9.3} {:>9.1} {:>10.2} {:>7.1}",
            r.name,
            stats::ms(r.init),
            r.init.as_secs_f64() / hello.init.as_secs_f64().max(1e-9),
            r.invoke.as_secs_f64() * 1000.0,
            r.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            r.size_bytes as f64 / 1048576.0,
            r.size_bytes as f64 / (hello.size_bytes.max(1) as f64),
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
            "invoke_ms": r.invoke.as_secs_f64() * 1000.0, "peak_rss_kib": r.peak_rss_kib, "size_bytes": r.size_bytes,
        })
    };
    json!({ "hello": row(hello), "functions": rows.iter().map(row).collect::<Vec<_>>() })
}

async fn wait(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Option<Seen> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .ok()
        .flatten()
}
