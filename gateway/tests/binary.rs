//! The README's run command: the `local-gateway` binary starts, serves the
//! API with the embedded adapters, prints the OTP mail, and stops cleanly on
//! SIGTERM; with `DATA_DIR` its state survives a restart.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use chat_tests::TINY_PNG;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn the_binary_serves_the_api_and_shuts_down_gracefully() -> TestResult {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-gateway"))
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines.next().ok_or("no banner")??;
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .ok_or(format!("unexpected banner {banner:?}"))?
        .to_owned();

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/users/register/"))
        .json(&serde_json::json!({
            "username": "alice", "email": "alice@example.com", "password": "correct horse battery"
        }))
        .send()
        .await?;
    assert_eq!(response.status(), 201);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(status.success());
    let mut waited = 0;
    let exit = loop {
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        waited += 1;
        assert!(waited < 100, "did not stop within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .ok_or("stderr")?
        .read_to_string(&mut stderr)?;
    assert!(
        stderr.contains("mail to alice@example.com") && stderr.contains("verification code"),
        "the OTP mail is printed to the console: {stderr}"
    );
    Ok(())
}

/// A running `local-gateway` process whose console is collected as it goes.
struct Running {
    child: std::process::Child,
    base: String,
    console: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    fn start(env: &[(&str, &str)]) -> Result<Self, Box<dyn std::error::Error>> {
        Self::launch(Command::new(env!("CARGO_BIN_EXE_local-gateway")), env)
    }

    /// Starts the gateway with at most `fds` open file descriptors (soft and
    /// hard limit), as under a stingy `ulimit -n`.
    fn start_with_fd_limit(
        fds: u32,
        env: &[(&str, &str)],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            &format!("ulimit -n {fds} && exec \"$0\""),
            env!("CARGO_BIN_EXE_local-gateway"),
        ]);
        Self::launch(command, env)
    }

    fn launch(
        mut command: Command,
        env: &[(&str, &str)],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        command
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .env_remove("JWT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn()?;
        let console = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().ok_or("stderr")?;
        let sink = console.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut console) = sink.lock() {
                    console.push_str(&line);
                    console.push('\n');
                }
            }
        });
        let stdout = child.stdout.take().ok_or("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let Some(banner) = lines.next().transpose()? else {
            let status = child.wait()?;
            let console = console.lock().map(|c| c.clone()).unwrap_or_default();
            return Err(format!("no banner; exit {status}: {console}").into());
        };
        std::thread::spawn(move || lines.for_each(drop));
        let base = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .ok_or(format!("unexpected banner {banner:?}"))?
            .to_owned();
        Ok(Self {
            child,
            base,
            console,
        })
    }

    fn console(&self) -> String {
        self.console.lock().map(|c| c.clone()).unwrap_or_default()
    }

    async fn code_for(&self, email: &str) -> Result<String, Box<dyn std::error::Error>> {
        for _ in 0..100 {
            let console = self.console();
            if let Some(mail) = console.split(&format!("mail to {email}")).nth(1) {
                if let Some(code) = mail
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                {
                    return Ok(code.to_owned());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("no code mailed to {email}").into())
    }

    /// Kills the process with SIGKILL: no shutdown, no cleanup.
    fn kill(mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Stops the process with SIGTERM, as a developer's Ctrl-C would.
    fn stop(mut self) -> Result<std::process::ExitStatus, Box<dyn std::error::Error>> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        for _ in 0..100 {
            if let Some(exit) = self.child.try_wait()? {
                return Ok(exit);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("did not stop within 10 s of SIGTERM".into())
    }
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("{name}-{}-{nanos}", std::process::id()))
}

#[tokio::test]
async fn with_data_dir_accounts_sessions_rooms_messages_and_pictures_survive_a_restart(
) -> TestResult {
    let dir = fresh_dir("chat-data");
    let data_dir = dir.to_string_lossy().into_owned();
    let client = reqwest::Client::new();

    let first = Running::start(&[("DATA_DIR", &data_dir)])?;
    let base = first.base.clone();
    let registered = client
        .post(format!("{base}/api/users/register/"))
        .json(&serde_json::json!({
            "username": "keeper", "email": "keeper@example.com", "password": "correct horse battery"
        }))
        .send()
        .await?;
    assert_eq!(registered.status(), 201);
    let code = first.code_for("keeper@example.com").await?;
    let verified = client
        .post(format!("{base}/api/users/verify-email/"))
        .json(&serde_json::json!({ "email": "keeper@example.com", "otp": code }))
        .send()
        .await?;
    assert_eq!(verified.status(), 200);
    let tokens: serde_json::Value = client
        .post(format!("{base}/api/users/token/"))
        .json(&serde_json::json!({ "email": "keeper@example.com", "password": "correct horse battery" }))
        .send()
        .await?
        .json()
        .await?;
    let access = tokens["access"].as_str().ok_or("access")?.to_owned();
    let refresh = tokens["refresh"].as_str().ok_or("refresh")?.to_owned();
    let room = group(&first, &access, "Keepers", &[]).await?;
    let sent = client
        .post(format!("{base}/api/chat/rooms/{room}/messages/"))
        .bearer_auth(&access)
        .json(&serde_json::json!({ "message": "still here after a restart" }))
        .send()
        .await?;
    assert_eq!(sent.status(), 201);
    let form = reqwest::multipart::Form::new().part(
        "profile_picture",
        reqwest::multipart::Part::bytes(TINY_PNG.to_vec())
            .file_name("me.png")
            .mime_str("image/png")?,
    );
    let uploaded = client
        .patch(format!("{base}/api/users/profile/"))
        .bearer_auth(&access)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(uploaded.status(), 200);
    assert!(first.stop()?.success());

    let state = dir.join("state.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&state)?.permissions().mode() & 0o777,
            0o600,
            "password hashes are readable by their owner only"
        );
    }

    let second = Running::start(&[("DATA_DIR", &data_dir)])?;
    let base = second.base.clone();
    let profile = client
        .get(format!("{base}/api/users/profile/"))
        .bearer_auth(&access)
        .send()
        .await?;
    assert_eq!(
        profile.status(),
        200,
        "the access token outlives the restart"
    );
    let profile: serde_json::Value = profile.json().await?;
    assert_eq!(profile["email_verified"], true);
    let picture = profile["profile_picture"].as_str().ok_or("a picture")?;
    assert!(picture.starts_with(&base), "{picture}");
    assert_eq!(
        reqwest::get(picture).await?.bytes().await?.as_ref(),
        TINY_PNG
    );
    let history: serde_json::Value = client
        .get(format!("{base}/api/chat/rooms/{room}/messages/"))
        .bearer_auth(&access)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        history["results"][0]["message"],
        "still here after a restart"
    );
    let rotated = client
        .post(format!("{base}/api/users/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await?;
    assert_eq!(rotated.status(), 200, "the session outlives the restart");
    let login = client
        .post(format!("{base}/api/users/token/"))
        .json(&serde_json::json!({ "email": "keeper@example.com", "password": "correct horse battery" }))
        .send()
        .await?;
    assert_eq!(login.status(), 200);
    assert!(second.stop()?.success());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn an_unreadable_state_file_stops_the_start_and_is_left_alone() -> TestResult {
    let dir = fresh_dir("chat-data-bad");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("state.json"), b"{ not json")?;
    let data_dir = dir.to_string_lossy().into_owned();
    let refused = Running::start(&[("DATA_DIR", &data_dir)]);
    let error = refused
        .err()
        .ok_or("the gateway started on a broken state file")?;
    assert!(
        error.to_string().contains("local-gateway: ") && error.to_string().contains("state.json"),
        "{error}"
    );
    assert_eq!(std::fs::read(dir.join("state.json"))?, b"{ not json");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Signs `name` up on `gateway` (the code read from its console); returns
/// the access token and the user id.
async fn sign_up(
    gateway: &Running,
    name: &str,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    let base = &gateway.base;
    let email = format!("{name}@example.com");
    let registered = client
        .post(format!("{base}/api/users/register/"))
        .json(&serde_json::json!({ "username": name, "email": email, "password": "correct horse battery" }))
        .send()
        .await?;
    assert_eq!(registered.status(), 201);
    let code = gateway.code_for(&email).await?;
    let verified = client
        .post(format!("{base}/api/users/verify-email/"))
        .json(&serde_json::json!({ "email": email, "otp": code }))
        .send()
        .await?;
    assert_eq!(verified.status(), 200);
    let tokens: serde_json::Value = client
        .post(format!("{base}/api/users/token/"))
        .json(&serde_json::json!({ "email": email, "password": "correct horse battery" }))
        .send()
        .await?
        .json()
        .await?;
    let access = tokens["access"].as_str().ok_or("access")?.to_owned();
    let me: serde_json::Value = client
        .get(format!("{base}/api/users/profile/"))
        .bearer_auth(&access)
        .send()
        .await?
        .json()
        .await?;
    Ok((access, me["id"].as_str().ok_or("id")?.to_owned()))
}

/// A group of the token's owner with `members` besides; its id.
async fn group(
    gateway: &Running,
    token: &str,
    name: &str,
    members: &[&str],
) -> Result<String, Box<dyn std::error::Error>> {
    let room: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/chat/rooms/", gateway.base))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name, "type": "group", "members": members }))
        .send()
        .await?
        .json()
        .await?;
    Ok(room["id"].as_str().ok_or("room id")?.to_owned())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(gateway: &Running, path: &str) -> Result<Socket, Box<dyn std::error::Error>> {
    let url = format!("{}{path}", gateway.base.replacen("http://", "ws://", 1));
    Ok(tokio_tungstenite::connect_async(url).await?.0)
}

/// The next event of type `kind` on `socket`, within 10 seconds.
async fn next_of(
    socket: &mut Socket,
    kind: &str,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    next_of_within(socket, kind, Duration::from_secs(10)).await
}

/// The next event of type `kind` on `socket`, within `wait`.
async fn next_of_within(
    socket: &mut Socket,
    kind: &str,
    wait: Duration,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no {kind} event within {wait:?}"))?
            .ok_or("socket closed")??;
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            let event: serde_json::Value = serde_json::from_str(text.as_str())?;
            if event["type"] == kind {
                return Ok(event);
            }
        }
    }
}

async fn send(socket: &mut Socket, frame: serde_json::Value) -> TestResult {
    use futures_util::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            frame.to_string().into(),
        ))
        .await?;
    Ok(())
}

/// Two `local-gateway` processes on one Redis server (and one media
/// directory) serve one chat: users signed up on either, a picture uploaded
/// on one served by the other, sockets on either, and every event (messages
/// over REST and WebSocket, presence, read receipts) reaches the sockets the
/// other process holds.
#[tokio::test]
async fn two_processes_on_one_redis_serve_one_chat() -> TestResult {
    let url = chat_tests::redis_url();
    let prefix = chat_tests::unique("chat");
    let media = fresh_dir("chat-media");
    let media_dir = media.to_string_lossy().into_owned();
    let env = [
        ("CHAT_BACKEND", "redis"),
        ("REDIS_URL", url.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
        (
            "JWT_SECRET",
            "one secret shared by both processes, 32+ bytes",
        ),
        ("MEDIA_DIR", media_dir.as_str()),
    ];
    let a = Running::start(&env)?;
    let b = Running::start(&env)?;
    let (alice, _) = sign_up(&a, "alice").await?;
    let (bob, bob_id) = sign_up(&b, "bob").await?;
    let client = reqwest::Client::new();

    // A picture uploaded through A is served by B too (one media directory).
    let form = reqwest::multipart::Form::new().part(
        "profile_picture",
        reqwest::multipart::Part::bytes(TINY_PNG.to_vec())
            .file_name("me.png")
            .mime_str("image/png")?,
    );
    let profile: serde_json::Value = client
        .patch(format!("{}/api/users/profile/", a.base))
        .bearer_auth(&alice)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    let picture = profile["profile_picture"].as_str().ok_or("a picture URL")?;
    let from_b = picture.replacen(&a.base, &b.base, 1);
    assert_ne!(from_b, picture);
    let fetched = client.get(&from_b).send().await?;
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await?.as_ref(), TINY_PNG);

    let room = group(&a, &alice, "Across", &[&bob_id]).await?;

    // Alice holds a per-user socket on A; Bob then connects on B, per room.
    let mut alice_socket = socket(&a, &format!("/ws/?token={alice}")).await?;
    let mut bob_socket = socket(&b, &format!("/ws/chat/{room}/?token={bob}")).await?;
    let online = next_of(&mut alice_socket, "presence").await?;
    assert_eq!(
        (online["user_id"].as_str(), online["status"].as_str()),
        (Some(bob_id.as_str()), Some("online"))
    );

    // A REST send on A reaches Bob's socket on B.
    let sent = client
        .post(format!("{}/api/chat/rooms/{room}/messages/", a.base))
        .bearer_auth(&alice)
        .json(&serde_json::json!({ "message": "from A" }))
        .send()
        .await?;
    assert_eq!(sent.status(), 201);
    let got = next_of(&mut bob_socket, "message").await?;
    assert_eq!(
        (got["message"].as_str(), got["seq"].as_u64()),
        (Some("from A"), Some(1))
    );

    // A WebSocket send on B reaches Alice's socket on A; her read reaches Bob.
    send(&mut bob_socket, serde_json::json!({ "message": "from B" })).await?;
    let mine = next_of(&mut alice_socket, "message").await?;
    assert_eq!(
        mine["message"], "from A",
        "her own devices hear her message too"
    );
    let got = next_of(&mut alice_socket, "message").await?;
    assert_eq!(
        (got["message"].as_str(), got["seq"].as_u64()),
        (Some("from B"), Some(2))
    );
    send(
        &mut alice_socket,
        serde_json::json!({ "action": "read", "room_id": room, "message_id": got["id"] }),
    )
    .await?;
    // "delivered" (his message reached Alice's socket on A) and "read"; the
    // two come from different processes, so in either order.
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let receipt = next_of(&mut bob_socket, "receipt").await?;
        assert_eq!(receipt["seq"].as_u64(), Some(2));
        statuses.push(receipt["status"].as_str().unwrap_or_default().to_owned());
    }
    statuses.sort();
    assert_eq!(statuses, ["delivered", "read"]);

    assert!(a.stop()?.success());
    assert!(b.stop()?.success());
    let _ = std::fs::remove_dir_all(&media);
    Ok(())
}

/// A `redis-server` of this test's own, on a free port, with its data in
/// `dir` (append-only file on, fsync on every write).
fn start_redis(
    port: u16,
    dir: &std::path::Path,
) -> Result<std::process::Child, Box<dyn std::error::Error>> {
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("redis-server did not start".into())
}

fn free_port() -> Result<u16, Box<dyn std::error::Error>> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Redis dies under a running gateway: requests answer 503 with
/// `Retry-After` and socket frames get 503 error events (no 500, no panic,
/// the process and the socket stay up); Redis comes back with its
/// append-only file: the same process, and the same socket, serve again
/// within seconds and nothing acknowledged before is lost.
#[tokio::test]
async fn the_gateway_rides_out_a_redis_restart() -> TestResult {
    let dir = fresh_dir("chat-redis");
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let mut redis = start_redis(port, &dir)?;
    let url = format!("redis://127.0.0.1:{port}");
    let gateway = Running::start(&[
        ("CHAT_BACKEND", "redis"),
        ("REDIS_URL", url.as_str()),
        (
            "JWT_SECRET",
            "a secret for the redis restart test, 32+ bytes",
        ),
    ])?;
    let (alice, _) = sign_up(&gateway, "alice").await?;
    let client = reqwest::Client::new();
    let base = gateway.base.clone();
    let room = group(&gateway, &alice, "Durable", &[]).await?;
    let messages = format!("{base}/api/chat/rooms/{room}/messages/");
    let sent = client
        .post(&messages)
        .bearer_auth(&alice)
        .json(&serde_json::json!({ "message": "acknowledged before the crash" }))
        .send()
        .await?;
    assert_eq!(sent.status(), 201);
    let mut socket = socket(&gateway, &format!("/ws/?token={alice}")).await?;

    redis.kill()?;
    redis.wait()?;
    // The socket stays open; what it asks for meanwhile is answered with 503.
    send(
        &mut socket,
        serde_json::json!({ "action": "send", "room_id": room, "message": "while down" }),
    )
    .await?;
    let refused = next_of(&mut socket, "error").await?;
    assert_eq!(refused["status"], 503, "{refused}");
    let during = client.get(&messages).bearer_auth(&alice).send().await?;
    assert_eq!(during.status(), 503);
    assert!(during.headers().contains_key("retry-after"));
    let body: serde_json::Value = during.json().await?;
    assert_eq!(body["code"], "unavailable");

    let mut redis = start_redis(port, &dir)?;
    let mut back = None;
    for _ in 0..100 {
        let response = client.get(&messages).bearer_auth(&alice).send().await?;
        if response.status() == 200 {
            back = Some(response.json::<serde_json::Value>().await?);
            break;
        }
        assert_eq!(response.status(), 503, "only 503 while Redis comes back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = back.ok_or("the gateway did not recover within 10 s")?;
    assert_eq!(
        page["results"][0]["message"],
        "acknowledged before the crash"
    );
    let again = client
        .post(&messages)
        .bearer_auth(&alice)
        .json(&serde_json::json!({ "message": "after the restart" }))
        .send()
        .await?;
    assert_eq!(again.status(), 201);
    // The socket opened before the outage still works.
    send(
        &mut socket,
        serde_json::json!({ "action": "send", "room_id": room, "message": "same socket" }),
    )
    .await?;
    loop {
        let event = next_of(&mut socket, "message").await?;
        if event["message"] == "same socket" {
            break;
        }
    }
    let console = gateway.console();
    assert!(!console.contains("panicked"), "{console}");
    assert!(gateway.stop()?.success());
    redis.kill()?;
    redis.wait()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `kill -9` of one of two processes in the middle of a burst: every send it
/// acknowledged is in the history, and a client whose socket was on it
/// reconnects to the other process and, with `last_seq` and `sync`, ends up
/// with every message once and in order.
#[tokio::test]
async fn killing_a_process_mid_burst_loses_nothing_it_acknowledged() -> TestResult {
    const SENDS: usize = 200;
    let url = chat_tests::redis_url();
    let prefix = chat_tests::unique("chat");
    let env = [
        ("CHAT_BACKEND", "redis"),
        ("REDIS_URL", url.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
        (
            "JWT_SECRET",
            "one secret shared by both processes, 32+ bytes",
        ),
    ];
    let doomed = Running::start(&env)?;
    let survivor = Running::start(&env)?;
    let (alice, _) = sign_up(&survivor, "alice").await?;
    let (bob, bob_id) = sign_up(&survivor, "bob").await?;
    let client = reqwest::Client::new();
    let room = group(&survivor, &alice, "Burst", &[&bob_id]).await?;
    let mut alice_socket = socket(&survivor, &format!("/ws/?token={alice}")).await?;
    let mut bob_socket = socket(&doomed, &format!("/ws/?token={bob}")).await?;
    let online = next_of(&mut alice_socket, "presence").await?;
    assert_eq!(
        (online["user_id"].as_str(), online["status"].as_str()),
        (Some(bob_id.as_str()), Some("online"))
    );

    // Four streams of sends through the doomed process.
    let target = format!("{}/api/chat/rooms/{room}/messages/", doomed.base);
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let streams: Vec<_> = (0..4)
        .map(|s| {
            let (client, target, alice, acked) = (
                client.clone(),
                target.clone(),
                alice.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                for i in (s..SENDS).step_by(4) {
                    let text = format!("burst {i}");
                    let sent = client
                        .post(&target)
                        .bearer_auth(&alice)
                        .json(&serde_json::json!({ "message": text }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => {
                            if let Ok(mut acked) = acked.lock() {
                                acked.push(text);
                            }
                        }
                        Ok(response) => panic!("a send answered {}", response.status()),
                        Err(_) => return, // the process is gone
                    }
                }
            })
        })
        .collect();
    // Bob hears part of the burst live, then the process dies under him.
    let mut have = 0;
    while have < 20 {
        have = next_of(&mut bob_socket, "message").await?["seq"]
            .as_u64()
            .ok_or("seq")?;
    }
    doomed.kill()?;
    for stream in streams {
        stream.await?;
    }
    let acknowledged = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(acknowledged.len() >= 5, "the burst was under way");
    println!(
        "acknowledged {} of {SENDS} sends before the kill",
        acknowledged.len()
    );

    // Every acknowledged send is in the history (read through the survivor).
    let history: serde_json::Value = client
        .get(format!(
            "{}/api/chat/rooms/{room}/messages/?after_seq=0&limit=100",
            survivor.base
        ))
        .bearer_auth(&bob)
        .send()
        .await?
        .json()
        .await?;
    let mut stored: Vec<String> = Vec::new();
    let mut page = history;
    loop {
        for m in page["results"].as_array().ok_or("results")? {
            stored.push(m["message"].as_str().unwrap_or_default().to_owned());
        }
        let Some(next) = page["next"].as_str() else {
            break;
        };
        page = client
            .get(format!(
                "{}/api/chat/rooms/{room}/messages/?after_seq={next}&limit=100",
                survivor.base
            ))
            .bearer_auth(&bob)
            .send()
            .await?
            .json()
            .await?;
    }
    for text in &acknowledged {
        assert!(
            stored.contains(text),
            "{text} was acknowledged but is not stored"
        );
    }

    // The survivor finds the dead process and disconnects its sockets:
    // Alice sees Bob go offline (the process stops being alive after 15 s).
    let offline = next_of_within(&mut alice_socket, "presence", Duration::from_secs(40)).await?;
    assert_eq!(
        (offline["user_id"].as_str(), offline["status"].as_str()),
        (Some(bob_id.as_str()), Some("offline"))
    );

    // Bob reconnects to the survivor and catches up from what he had.
    let mut bob_socket = socket(&survivor, &format!("/ws/?token={bob}")).await?;
    send(
        &mut bob_socket,
        serde_json::json!({ "action": "sync", "room_id": room, "after_seq": have }),
    )
    .await?;
    let mut seqs: Vec<u64> = Vec::new();
    loop {
        let event = next_any(&mut bob_socket).await?;
        match event["type"].as_str() {
            Some("message") => seqs.push(event["seq"].as_u64().ok_or("seq")?),
            Some("synced") => {
                assert_eq!(event["has_more"], false);
                break;
            }
            _ => {}
        }
    }
    let expected: Vec<u64> = (have + 1..=u64::try_from(stored.len())?).collect();
    assert_eq!(seqs, expected, "the rest, once, in order");
    assert!(survivor.stop()?.success());
    Ok(())
}

/// The next event on `socket`, within 10 seconds.
async fn next_any(socket: &mut Socket) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .map_err(|_| "no event within 10 s")?
            .ok_or("socket closed")??;
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            return Ok(serde_json::from_str(text.as_str())?);
        }
    }
}

/// A minimal SMTP server on a free loopback port that keeps the data of
/// every message it is given.
async fn smtp_sink(
) -> Result<(u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>), Box<dyn std::error::Error>> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = kept.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "DATA" => {
                            let _ = write.write_all(b"354 end with .\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                data.push_str(&line);
                                data.push('\n');
                            }
                            if let Ok(mut kept) = sink.lock() {
                                kept.push(data);
                            }
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((port, kept))
}

/// With `SMTP_URL`, the verification code goes out over SMTP (text and
/// HTML parts) and is the one that verifies the account.
#[tokio::test]
async fn with_smtp_url_codes_are_mailed_over_smtp() -> TestResult {
    let (port, mails) = smtp_sink().await?;
    let url = format!("smtp://127.0.0.1:{port}");
    let gateway = Running::start(&[
        ("SMTP_URL", url.as_str()),
        ("MAIL_FROM", "Chat <no-reply@chat.test>"),
    ])?;
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{}/api/users/register/", gateway.base))
        .json(&serde_json::json!({
            "username": "mailed", "email": "mailed@example.com", "password": "correct horse battery"
        }))
        .send()
        .await?;
    assert_eq!(registered.status(), 201);
    let mut mail = None;
    for _ in 0..100 {
        mail = mails.lock().ok().and_then(|m| m.first().cloned());
        if mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = mail.ok_or("no mail reached the SMTP server")?;
    assert!(mail.contains("To: mailed@example.com"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    let code = mail
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .and_then(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
        })
        .ok_or("no code in the subject")?
        .to_owned();
    let verified = client
        .post(format!("{}/api/users/verify-email/", gateway.base))
        .json(&serde_json::json!({ "email": "mailed@example.com", "otp": code }))
        .send()
        .await?;
    assert_eq!(verified.status(), 200);
    assert!(
        !gateway.console().contains("verification code is"),
        "not printed when mailed"
    );
    assert!(gateway.stop()?.success());
    Ok(())
}

/// A connection that does not finish its request's headers in time is
/// closed (`HTTP_HEADER_TIMEOUT_SECS`), and so is one idle after a request.
#[tokio::test]
async fn slow_or_idle_connections_are_closed_after_the_header_timeout() -> TestResult {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gateway = Running::start(&[("HTTP_HEADER_TIMEOUT_SECS", "1")])?;
    let addr = gateway.base.trim_start_matches("http://").to_owned();

    let mut slow = tokio::net::TcpStream::connect(&addr).await?;
    slow.write_all(b"GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let mut idle = tokio::net::TcpStream::connect(&addr).await?;
    idle.write_all(b"GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut answer = vec![0u8; 4096];
    let read = idle.read(&mut answer).await?;
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 401"));

    for (name, connection) in [("slow", &mut slow), ("idle", &mut idle)] {
        let mut rest = Vec::new();
        let ended =
            tokio::time::timeout(Duration::from_secs(5), connection.read_to_end(&mut rest)).await;
        assert!(
            ended.is_ok(),
            "the {name} connection is still open after 5 s"
        );
    }
    assert!(gateway.stop()?.success());
    Ok(())
}

/// Under a stingy file-descriptor limit, hundreds of connections that send
/// nothing do not keep real clients out: at the connection cap the oldest
/// silent one is closed to make room, and the gateway says so.
#[tokio::test]
async fn silent_connections_do_not_crowd_out_clients() -> TestResult {
    let gateway = Running::start_with_fd_limit(200, &[("HTTP_HEADER_TIMEOUT_SECS", "60")])?;
    let addr = gateway.base.trim_start_matches("http://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..400 {
        silent.push(tokio::net::TcpStream::connect(&addr).await?);
    }
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            client
                .get(format!("{}/api/users/profile/", gateway.base))
                .send(),
        )
        .await??;
        assert_eq!(answer.status(), 401);
    }
    let (token, _) = sign_up(&gateway, "alice").await?;
    let me = client
        .get(format!("{}/api/users/profile/", gateway.base))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(me.status(), 200);
    assert!(
        gateway.console().contains("connection limit"),
        "the gateway says it shed connections"
    );
    drop(silent);
    assert!(gateway.stop()?.success());
    Ok(())
}

/// With `MANAGEMENT_PORT` (always, when the gateway listens beyond
/// loopback) the `@connections` API has a loopback listener of its own and
/// the public port does not serve it.
#[tokio::test]
async fn the_management_api_can_live_apart_from_the_public_port() -> TestResult {
    let port = free_port()?.to_string();
    let gateway = Running::start(&[("MANAGEMENT_PORT", port.as_str())])?;
    let client = reqwest::Client::new();
    let public = client
        .get(format!("{}/@connections/bm9uZQ==", gateway.base))
        .send()
        .await?;
    assert_eq!(public.status(), 404);
    let apart = client
        .get(format!("http://127.0.0.1:{port}/@connections/bm9uZQ=="))
        .send()
        .await?;
    assert_eq!(apart.status(), 410, "served, and the connection is unknown");
    assert!(gateway.stop()?.success());
    Ok(())
}

/// With `DATA_DIR`, what a client was told is done survives `kill -9`: a
/// just-verified account, every message that got its 201, a rotated refresh
/// token (the old one stays dead) and a logout.
#[tokio::test]
async fn with_data_dir_nothing_acknowledged_is_lost_to_kill_9() -> TestResult {
    let dir = fresh_dir("kill9");
    let data_dir = dir.to_string_lossy().into_owned();
    let env = [("DATA_DIR", data_dir.as_str())];
    let gateway = Running::start(&env)?;
    let client = reqwest::Client::new();
    let (alice, _) = sign_up(&gateway, "alice").await?;
    let (_, bob_id) = sign_up(&gateway, "bob").await?;
    let room = group(&gateway, &alice, "Durable", &[&bob_id]).await?;
    let login = |base: String| {
        let client = client.clone();
        async move {
            let tokens: serde_json::Value = client
                .post(format!("{base}/api/users/token/"))
                .json(&serde_json::json!({ "email": "alice@example.com", "password": "correct horse battery" }))
                .send()
                .await?
                .json()
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(tokens)
        }
    };
    let refresh = |base: String, token: String| {
        let client = client.clone();
        async move {
            let answer = client
                .post(format!("{base}/api/users/token/refresh/"))
                .json(&serde_json::json!({ "refresh": token }))
                .send()
                .await?;
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await?;
            Ok::<_, Box<dyn std::error::Error>>((status, body))
        }
    };
    let first = login(gateway.base.clone()).await?;
    let first_refresh = first["refresh"].as_str().ok_or("refresh")?.to_owned();
    let (status, rotated) = refresh(gateway.base.clone(), first_refresh.clone()).await?;
    assert_eq!(status, 200);
    let second_refresh = rotated["refresh"].as_str().ok_or("refresh")?.to_owned();
    let ended = login(gateway.base.clone()).await?;
    let ended_refresh = ended["refresh"].as_str().ok_or("refresh")?.to_owned();
    let logout = client
        .post(format!("{}/api/users/logout/", gateway.base))
        .json(&serde_json::json!({ "refresh": ended_refresh }))
        .send()
        .await?;
    assert_eq!(logout.status(), 200);
    // Sends from eight clients at once, each acknowledged before the kill.
    let target = format!("{}/api/chat/rooms/{room}/messages/", gateway.base);
    let sends = (0..40).map(|i| {
        let (client, target, alice) = (client.clone(), target.clone(), alice.clone());
        async move {
            client
                .post(&target)
                .bearer_auth(&alice)
                .json(&serde_json::json!({ "message": format!("durable {i}") }))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    use futures_util::StreamExt;
    let statuses: Vec<_> = futures_util::stream::iter(sends)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(201))),
        "{statuses:?}"
    );
    gateway.kill()?;

    let gateway = Running::start(&env)?;
    let history: serde_json::Value = client
        .get(format!(
            "{}/api/chat/rooms/{room}/messages/?after_seq=0&limit=100",
            gateway.base
        ))
        .bearer_auth(&alice)
        .send()
        .await?
        .json()
        .await?;
    let texts: std::collections::BTreeSet<String> = history["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter_map(|m| m["message"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts.len(), 40, "every acknowledged message is there");
    // The rotated token works (its rotation was kept)...
    let (status, body) = refresh(gateway.base.clone(), second_refresh).await?;
    assert_eq!(status, 200, "{body}");
    // ...the one it replaced is spent (presented from another address: the
    // address that rotated it may present it again for a few seconds), and
    // the logged-out session stays out.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()?;
    let replay = elsewhere
        .post(format!("{}/api/users/token/refresh/", gateway.base))
        .json(&serde_json::json!({ "refresh": first_refresh }))
        .send()
        .await?;
    assert_eq!(replay.status(), 401, "the rotation is not undone");
    let (status, _) = refresh(gateway.base.clone(), ended_refresh).await?;
    assert_eq!(status, 401, "the logout is not undone");
    assert!(gateway.stop()?.success());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
