//! A stand-in for the Lambda service: serves the Runtime API
//! (`/2018-06-01/runtime/...`) to one function process, hands it events and
//! collects its answers, as Lambda does on AWS.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Mutex};

/// What the function answered: its response, or the error it reported.
pub type Outcome = Result<Value, Value>;

struct Invocation {
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Service {
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    pending: Arc<std::sync::Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    ids: Arc<std::sync::atomic::AtomicU64>,
}

/// One function process and the Runtime API it polls.
pub struct Function {
    name: String,
    events: mpsc::UnboundedSender<Invocation>,
    child: Child,
    server: tokio::task::JoinHandle<()>,
    logs: Arc<std::sync::Mutex<String>>,
    /// The tasks copying stdout and stderr into `logs`.
    collectors: Vec<tokio::task::JoinHandle<()>>,
}

impl Function {
    /// Starts `binary` as the Lambda service would for the function `name`
    /// (its `CHAT_ROUTE`), with `env` as its configuration (and nothing else
    /// from the test's environment).
    pub async fn start(name: &str, binary: &str, env: &[(String, String)]) -> Self {
        let (events, queue) = mpsc::unbounded_channel();
        let service = Service {
            queue: Arc::new(Mutex::new(queue)),
            pending: Arc::default(),
            ids: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .with_state(service);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API");
        let api = listener.local_addr().expect("Runtime API address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut child = Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("CHAT_ROUTE", name)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        // Lambda sends both streams to the function's log.
        let logs = Arc::new(std::sync::Mutex::new(String::new()));
        let mut collectors = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            collectors.push(tokio::spawn(collect(stdout, name.to_owned(), logs.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            collectors.push(tokio::spawn(collect(stderr, name.to_owned(), logs.clone())));
        }
        Self {
            name: name.to_owned(),
            events,
            child,
            server,
            logs,
            collectors,
        }
    }

    /// Invokes the function with `event` and waits for its answer.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.events
            .send(Invocation { event, reply })
            .expect("the Runtime API is serving");
        tokio::select! {
            answer = answer => answer.expect("the function answered"),
            exit = self.child.wait() => panic!("{} exited during the invocation: {exit:?}", self.name),
            () = tokio::time::sleep(Duration::from_secs(60)) => panic!("{} did not answer within 60 s", self.name),
        }
    }

    /// What the function logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits for the process to exit (a failed init), at most `limit`, and
    /// for its log to be read to the end: on a busy machine the pipes may
    /// still hold what it wrote last.
    pub async fn exit_status(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)?;
        for collector in self.collectors.drain(..) {
            let _ = tokio::time::timeout(limit, collector).await;
        }
        Some(status)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Copies a stream of the function into `logs` and the test's output.
async fn collect(
    stream: impl tokio::io::AsyncRead + Unpin,
    name: String,
    logs: Arc<std::sync::Mutex<String>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{name}] {line}");
        if let Ok(mut logs) = logs.lock() {
            logs.push_str(&line);
            logs.push('\n');
        }
    }
}

async fn next(State(service): State<Service>) -> impl IntoResponse {
    let Some(invocation) = service.queue.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let id = format!(
        "req-{}",
        service
            .ids
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    if let Ok(mut pending) = service.pending.lock() {
        pending.insert(id.clone(), invocation.reply);
    }
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        + 10_000;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:000000000000:function:test".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        headers.insert(name, value.parse().expect("header value"));
    }
    (StatusCode::OK, headers, invocation.event.to_string())
}

fn answer(service: &Service, id: &str, outcome: Outcome) -> StatusCode {
    let reply = service.pending.lock().ok().and_then(|mut p| p.remove(id));
    match reply {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(
    State(service): State<Service>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&service, &id, Ok(value))
}

async fn fail(
    State(service): State<Service>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&service, &id, Err(value))
}
