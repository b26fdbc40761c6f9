//! The messaging benchmark: M WebSocket clients in R rooms, S senders of K
//! messages each, paced or in bursts; every delivery is counted and timed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, User};
use crate::gateway::Gateway;
use crate::stats;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which backend and how many gateway processes (clients spread over them).
    pub setup: String,
    pub clients: usize,
    pub rooms: usize,
    pub senders: usize,
    pub messages: usize,
    /// Messages per second over all senders; 0 sends in bursts.
    pub rate: f64,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct Report {
    pub plan: Plan,
    pub sent: usize,
    pub expected: usize,
    pub delivered: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub server_peak_rss_kib: Option<u64>,
    /// Resident memory when the messaging started (after sign-ups and connects).
    pub server_rss_at_start_kib: Option<u64>,
    pub server_cpu: Option<Duration>,
}

impl Report {
    pub fn to_json(&self) -> Value {
        json!({
            "setup": self.plan.setup,
            "clients": self.plan.clients, "rooms": self.plan.rooms, "senders": self.plan.senders,
            "messages_per_sender": self.plan.messages, "rate": self.plan.rate,
            "sent": self.sent, "expected_deliveries": self.expected, "delivered": self.delivered,
            "lost": self.lost, "duplicated": self.duplicated,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "messages_per_s": self.sent as f64 / self.elapsed.as_secs_f64(),
            "deliveries_per_s": self.delivered as f64 / self.elapsed.as_secs_f64(),
            "latency_ms": { "p50": stats::ms(self.p50), "p99": stats::ms(self.p99), "max": stats::ms(self.max) },
            "server_peak_rss_kib": self.server_peak_rss_kib,
            "server_rss_at_start_kib": self.server_rss_at_start_kib,
            "server_cpu_s": self.server_cpu.map(|d| d.as_secs_f64()),
        })
    }

    pub fn print(&self) {
        let secs = self.elapsed.as_secs_f64();
        println!(
            "WebSocket fan-out ({}): {} clients, {} room(s), {} senders x {} messages, {}",
            self.plan.setup,
            self.plan.clients,
            self.plan.rooms,
            self.plan.senders,
            self.plan.messages,
            if self.plan.rate > 0.0 {
                format!("{} msg/s", self.plan.rate)
            } else {
                "bursts".into()
            }
        );
        println!("  messages sent          {:>10}", self.sent);
        println!("  deliveries expected    {:>10}", self.expected);
        println!("  deliveries received    {:>10}", self.delivered);
        println!("  lost                   {:>10}", self.lost);
        println!("  duplicated             {:>10}", self.duplicated);
        println!("  elapsed                {:>10.2} s", secs);
        println!("  messages/s             {:>10.0}", self.sent as f64 / secs);
        println!(
            "  deliveries/s           {:>10.0}",
            self.delivered as f64 / secs
        );
        println!("  latency p50            {:>10.2} ms", stats::ms(self.p50));
        println!("  latency p99            {:>10.2} ms", stats::ms(self.p99));
        println!("  latency max            {:>10.2} ms", stats::ms(self.max));
        match self.server_peak_rss_kib {
            Some(kib) => println!("  server peak RSS        {:>10.1} MiB", kib as f64 / 1024.0),
            None => println!("  server peak RSS               n/a"),
        }
        if let Some(kib) = self.server_rss_at_start_kib {
            println!("  server RSS at start    {:>10.1} MiB", kib as f64 / 1024.0);
        }
        match self.server_cpu {
            Some(cpu) => println!("  server CPU             {:>10.2} s", cpu.as_secs_f64()),
            None => println!("  server CPU                    n/a"),
        }
    }
}

type Received = HashMap<String, usize>;

/// Runs the plan against gateways sharing one state (one, or several on
/// Redis): sign-ups go through the first, client `i` connects to gateway
/// `i % n`, so a room's sockets are spread over the processes.
pub async fn run(gateways: &[Gateway], plan: Plan) -> Result<Report, String> {
    let gw = gateways.first().ok_or("no gateway")?;
    let http = reqwest::Client::new();
    let rooms = plan.rooms.max(1);
    eprintln!("signing up {} users...", plan.clients);
    let users = client::sign_up_many(&http, gw, "lg", plan.clients).await?;
    let mut room_ids = Vec::new();
    for r in 0..rooms {
        let members: Vec<&User> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % rooms == r)
            .map(|(_, u)| u)
            .collect();
        room_ids
            .push(client::room(&http, &gw.base, members[0], &format!("load {r}"), &members).await?);
    }

    let mut sinks = Vec::new();
    let mut readers = Vec::new();
    let mut logs = Vec::new();
    let start = Instant::now();
    let received_total = Arc::new(AtomicUsize::new(0));
    for (i, user) in users.iter().enumerate() {
        let room = &room_ids[i % rooms];
        let ws_base = gateways[i % gateways.len()]
            .base
            .replacen("http://", "ws://", 1);
        let url = format!("{ws_base}/ws/chat/{room}/?token={}", user.access);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("socket {i}: {e}"))?;
        let (sink, mut stream) = socket.split();
        sinks.push(sink);
        let counter = received_total.clone();
        let me = i;
        let log: Arc<Mutex<(Received, Vec<Duration>)>> = Arc::default();
        logs.push(log.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if event["type"] != "message" {
                    continue;
                }
                let body = event["message"].as_str().unwrap_or_default();
                let mut parts = body.split(':');
                let (Some(sender), Some(k), Some(sent_us)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if sender.parse::<usize>().ok() == Some(me) {
                    continue; // the sender's own echo
                }
                let now = start.elapsed();
                if let Ok(mut log) = log.lock() {
                    if let Ok(us) = sent_us.parse::<u64>() {
                        log.1.push(now.saturating_sub(Duration::from_micros(us)));
                    }
                    *log.0.entry(format!("{sender}:{k}")).or_default() += 1;
                }
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the join-time presence events pass.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let senders = plan.senders.min(users.len());
    let per_room: Vec<usize> = (0..rooms)
        .map(|r| (0..users.len()).filter(|i| i % rooms == r).count())
        .collect();
    let expected: usize = (0..senders)
        .map(|s| plan.messages * (per_room[s % rooms] - 1))
        .sum();
    let pids: Vec<u32> = gateways.iter().map(Gateway::pid).collect();
    let cpu_before = total(&pids, stats::cpu_time);
    let server_rss_at_start_kib = total(&pids, stats::rss_kib);
    let sending = Instant::now();
    let interval = if plan.rate > 0.0 {
        Some(Duration::from_secs_f64(senders as f64 / plan.rate))
    } else {
        None
    };
    let mut tasks = Vec::new();
    for (s, mut sink) in sinks.drain(..).enumerate() {
        if s >= senders {
            tasks.push(tokio::spawn(async move {
                let _ = sink;
            }));
            continue;
        }
        let messages = plan.messages;
        tasks.push(tokio::spawn(async move {
            for k in 0..messages {
                let body = format!("{s}:{k}:{}", start.elapsed().as_micros());
                let frame =
                    json!({ "action": "send", "message": body, "client_id": format!("{s}-{k}") });
                if sink
                    .send(Message::Text(frame.to_string().into()))
                    .await
                    .is_err()
                {
                    break;
                }
                if let Some(interval) = interval {
                    tokio::time::sleep(interval).await;
                }
            }
            // Keep the socket open until the run ends.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let _ = sink;
        }));
    }
    let sent = senders * plan.messages;
    let mut last = 0;
    let mut stalled = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = received_total.load(Ordering::Relaxed);
        eprint!("\r  sent {sent}, delivered {got}/{expected}   ");
        if got >= expected {
            // A short grace period to catch duplicates.
            tokio::time::sleep(Duration::from_millis(300)).await;
            break;
        }
        if got != last {
            last = got;
            stalled = Instant::now();
        } else if stalled.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    eprintln!();
    let elapsed = sending.elapsed();
    let server_cpu = match (cpu_before, total(&pids, stats::cpu_time)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let server_peak_rss_kib = total(&pids, stats::peak_rss_kib);
    for task in tasks {
        task.abort();
    }
    for reader in &readers {
        reader.abort();
    }
    let mut delivered = 0;
    let mut unique = 0;
    let mut latencies = Vec::new();
    for log in logs {
        if let Ok(mut log) = log.lock() {
            unique += log.0.len();
            delivered += log.0.values().sum::<usize>();
            latencies.append(&mut log.1);
        }
    }
    let (p50, p99, max) = stats::summary(&mut latencies);
    Ok(Report {
        plan,
        sent,
        expected,
        delivered,
        lost: expected.saturating_sub(unique.min(expected)),
        duplicated: delivered.saturating_sub(unique),
        elapsed,
        p50,
        p99,
        max,
        server_peak_rss_kib,
        server_rss_at_start_kib,
        server_cpu,
    })
}

/// The sum of a per-process figure over the gateways (None if any is unknown).
fn total<T: std::iter::Sum<T>>(pids: &[u32], figure: impl Fn(u32) -> Option<T>) -> Option<T> {
    pids.iter().map(|pid| figure(*pid)).sum()
}
