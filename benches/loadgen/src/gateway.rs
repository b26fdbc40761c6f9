//! Starts the `local-gateway` binary as a child process, so that its memory
//! and CPU can be measured apart from the load generator's, and reads the
//! verification codes it prints to its console.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running gateway.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    codes: Arc<Mutex<HashMap<String, String>>>,
}

/// The gateway binary: `--gateway-bin`, or the release build beside this
/// program, built first if it is missing.
pub fn binary(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = exe.with_file_name("local-gateway");
    if !sibling.exists() {
        eprintln!("building local-gateway (release)...");
        let status = Command::new("cargo")
            .args(["build", "--release", "-p", "local-gateway"])
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        if !status.success() {
            return Err("building local-gateway failed".into());
        }
    }
    Ok(sibling)
}

/// Where the gateways keep their state.
#[derive(Debug, Clone)]
pub enum Backend {
    /// In the one process's memory.
    Embedded,
    /// On a Redis server, shared by every process started with it.
    Redis {
        /// `redis://…`.
        url: String,
        /// The key prefix of this run.
        prefix: String,
    },
}

impl Backend {
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::Embedded => Vec::new(),
            Backend::Redis { url, prefix } => vec![
                ("CHAT_BACKEND", "redis".to_owned()),
                ("REDIS_URL", url.clone()),
                ("REDIS_PREFIX", prefix.clone()),
            ],
        }
    }
}

/// A `redis-server` of the benchmark's own on a free loopback port, without
/// persistence; stopped when dropped.
pub struct RedisServer {
    child: Child,
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
}

impl RedisServer {
    /// Starts Debian's (or any) `redis-server` from the `PATH`.
    pub fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting redis-server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Starts the gateway on a free loopback port with limits raised for load.
    pub fn start(binary: &PathBuf) -> Result<Self, String> {
        Self::start_on(binary, &Backend::Embedded)
    }

    /// Starts a gateway on `backend`.
    pub fn start_on(binary: &PathBuf, backend: &Backend) -> Result<Self, String> {
        Self::start_with(binary, backend, &[])
    }

    /// Starts a gateway on `backend` with more settings.
    pub fn start_with(
        binary: &PathBuf,
        backend: &Backend,
        settings: &[(&str, String)],
    ) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .envs(backend.env())
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PORT", "0")
            .env("BIND_ADDR", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .env("JWT_SECRET", "load generator secret of thirty-two bytes")
            .env("LOGIN_MAX_FAILURES", "1000000")
            .env("OTP_MAX_PER_HOUR", "1000000")
            .env("MAX_GROUP_MEMBERS", "100000")
            .env("SEND_MAX_PER_MINUTE", "1000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut banner = String::new();
        BufReader::new(stdout)
            .read_line(&mut banner)
            .map_err(|e| e.to_string())?;
        let base = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| format!("unexpected banner {banner:?}"))?
            .to_owned();
        let codes = Arc::new(Mutex::new(HashMap::new()));
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let sink = codes.clone();
        std::thread::spawn(move || {
            let mut to: Option<String> = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("----- mail to ") {
                    to = Some(rest.trim_end_matches(" -----").to_owned());
                } else if let (Some(code), Some(email)) = (
                    line.strip_prefix("Subject: Your verification code: "),
                    to.take(),
                ) {
                    if let Ok(mut codes) = sink.lock() {
                        codes.insert(email, code.trim().to_owned());
                    }
                }
            }
        });
        Ok(Self { child, base, codes })
    }

    /// The process id, for /proc figures.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The code mailed to `email`, waiting up to 10 s for it.
    pub async fn code_for(&self, email: &str) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(code) = self.codes.lock().ok().and_then(|c| c.get(email).cloned()) {
                return Ok(code);
            }
            if Instant::now() > deadline {
                return Err(format!("no code mailed to {email}"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
