//! Memory under never-reading sockets: one user holds sockets it never
//! reads while a burst of long messages goes to its room; the gateway's
//! resident memory is read before and after, with its per-socket queue
//! bounded (the defaults) and, for comparison, practically unbounded.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{room, sign_up};
use crate::gateway::{Backend, Gateway};
use crate::stats;

/// What one run measured.
pub struct Report {
    /// Which queue limits.
    pub setup: String,
    /// Never-reading sockets.
    pub stalled: usize,
    /// Messages sent in the burst.
    pub messages: usize,
    /// Messages the reading member received.
    pub received: usize,
    /// Stalled sockets the gateway gave up (closed) by the end.
    pub given_up: usize,
    /// Resident memory before the burst, after it, and at its peak (KiB).
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    /// How long the burst took.
    pub elapsed: Duration,
}

impl Report {
    /// Prints the figures.
    pub fn print(&self) {
        let mib = |kib: Option<u64>| {
            kib.map_or("n/a".to_owned(), |k| {
                format!("{:.1} MiB", k as f64 / 1024.0)
            })
        };
        println!("Never-reading sockets ({})", self.setup);
        println!("  stalled sockets       {:>10}", self.stalled);
        println!("  messages (4,000 chars) {:>9}", self.messages);
        println!("  received by a reader  {:>10}", self.received);
        println!("  stalled sockets closed {:>9}", self.given_up);
        println!(
            "  elapsed               {:>10.2} s",
            self.elapsed.as_secs_f64()
        );
        println!("  server RSS before     {:>10}", mib(self.rss_before_kib));
        println!("  server RSS after      {:>10}", mib(self.rss_after_kib));
        println!("  server peak RSS       {:>10}", mib(self.rss_peak_kib));
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "setup": self.setup,
            "stalled": self.stalled,
            "messages": self.messages,
            "received": self.received,
            "given_up": self.given_up,
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "rss_before_kib": self.rss_before_kib,
            "rss_after_kib": self.rss_after_kib,
            "rss_peak_kib": self.rss_peak_kib,
        })
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket whose client never reads: a small receive buffer, so that the
/// server's pushes back up into its own memory quickly.
async fn stalled_socket(base: &str, token: &str) -> Result<Socket, String> {
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("{base}: {e}"))?;
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| e.to_string())?;
    let tcp = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let url = format!("{}/ws/?token={token}", base.replacen("http://", "ws://", 1));
    let (stream, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Runs the burst on a fresh gateway with `settings` (queue limits).
pub async fn run(
    binary: &std::path::PathBuf,
    setup: &str,
    settings: &[(&str, String)],
    stalled: usize,
    messages: usize,
) -> Result<Report, String> {
    let gw = Gateway::start_with(binary, &Backend::Embedded, settings)?;
    let http = reqwest::Client::new();
    let sender = sign_up(&http, &gw, "sender").await?;
    let staller = sign_up(&http, &gw, "staller").await?;
    let reader = sign_up(&http, &gw, "reader").await?;
    let room_id = room(&http, &gw.base, &sender, "Stalled", &[&staller, &reader]).await?;
    let mut stuck = Vec::new();
    for _ in 0..stalled {
        stuck.push(stalled_socket(&gw.base, &staller.access).await?);
    }
    let (mut reading, _) = tokio_tungstenite::connect_async(format!(
        "{}/ws/chat/{room_id}/?token={}",
        gw.base.replacen("http://", "ws://", 1),
        reader.access
    ))
    .await
    .map_err(|e| e.to_string())?;
    let counter = tokio::spawn(async move {
        let mut received = 0;
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_secs(5), reading.next()).await
        {
            if let Message::Text(text) = frame {
                if text.as_str().contains(r#""type":"message""#) {
                    received += 1;
                }
            }
        }
        received
    });

    let rss_before_kib = stats::rss_kib(gw.pid());
    let text = "m".repeat(4000);
    let url = format!("{}/api/chat/rooms/{room_id}/messages/", gw.base);
    let started = Instant::now();
    let failures = stream::iter(0..messages)
        .map(|_| {
            let request = http
                .post(&url)
                .bearer_auth(&sender.access)
                .json(&json!({ "message": text }));
            async move { request.send().await.map(|r| r.status().is_success()) }
        })
        .buffer_unordered(8)
        .filter(|sent| std::future::ready(!matches!(sent, Ok(true))))
        .count()
        .await;
    let elapsed = started.elapsed();
    if failures > 0 {
        return Err(format!("{failures} sends failed"));
    }
    // Let the gateway give up what it will, then read.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let rss_after_kib = stats::rss_kib(gw.pid());
    let rss_peak_kib = stats::peak_rss_kib(gw.pid());
    let received = counter.await.map_err(|e| e.to_string())?;
    let mut given_up = 0;
    for mut socket in stuck {
        let closed = loop {
            match tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
                Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => break true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => break false,
            }
        };
        given_up += usize::from(closed);
    }
    Ok(Report {
        setup: setup.to_owned(),
        stalled,
        messages,
        received,
        given_up,
        rss_before_kib,
        rss_after_kib,
        rss_peak_kib,
        elapsed,
    })
}
