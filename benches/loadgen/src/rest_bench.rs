//! REST latency and throughput of the hot routes at a given concurrency.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::client::{self, User};
use crate::gateway::Gateway;
use crate::stats;

/// One endpoint's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub endpoint: &'static str,
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Runs `requests` calls per endpoint with `concurrency` in flight.
pub async fn run(gw: &Gateway, concurrency: usize, requests: usize) -> Result<Vec<Row>, String> {
    let http = reqwest::Client::new();
    let users = client::sign_up_many(&http, gw, "rb", concurrency.max(2)).await?;
    let refs: Vec<&User> = users.iter().collect();
    let room = client::room(&http, &gw.base, &users[0], "rest bench", &refs).await?;
    let base = gw.base.clone();
    for i in 0..100 {
        http.post(format!("{base}/api/chat/rooms/{room}/messages/"))
            .bearer_auth(&users[0].access)
            .json(&json!({ "message": format!("seed {i}") }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut rows = Vec::new();
    for endpoint in [
        "list messages",
        "send message",
        "list rooms",
        "token refresh",
    ] {
        // Token refresh rotates: each worker follows its own chain of tokens.
        let chains: Vec<std::sync::Mutex<String>> = users
            .iter()
            .map(|u| std::sync::Mutex::new(u.refresh.clone()))
            .collect();
        let started = Instant::now();
        let results: Vec<(Duration, bool)> = stream::iter(0..requests)
            .map(|n| {
                let worker = n % concurrency.max(1);
                let user = &users[worker % users.len()];
                let (http, base, room, chains) = (&http, &base, &room, &chains);
                async move {
                    let t = Instant::now();
                    let ok = match endpoint {
                        "list messages" => {
                            http.get(format!("{base}/api/chat/rooms/{room}/messages/?limit=50"))
                                .bearer_auth(&user.access)
                                .send()
                                .await
                        }
                        "send message" => {
                            http.post(format!("{base}/api/chat/rooms/{room}/messages/"))
                                .bearer_auth(&user.access)
                                .json(&json!({"message": "bench"}))
                                .send()
                                .await
                        }
                        "list rooms" => {
                            http.get(format!("{base}/api/chat/rooms/"))
                                .bearer_auth(&user.access)
                                .send()
                                .await
                        }
                        _ => {
                            let slot = &chains[worker % chains.len()];
                            let current = slot.lock().map(|s| s.clone()).unwrap_or_default();
                            let response = http
                                .post(format!("{base}/api/users/token/refresh/"))
                                .json(&json!({"refresh": current}))
                                .send()
                                .await;
                            match response {
                                Ok(r) if r.status().is_success() => {
                                    let body: Value = r.json().await.unwrap_or_default();
                                    if let (Some(next), Ok(mut slot)) =
                                        (body["refresh"].as_str(), slot.lock())
                                    {
                                        *slot = next.to_owned();
                                    }
                                    return (t.elapsed(), true);
                                }
                                other => other,
                            }
                        }
                    };
                    let ok = matches!(ok, Ok(r) if r.status().is_success());
                    (t.elapsed(), ok)
                }
            })
            // Refresh chains are sequential per worker; the others run fully concurrent.
            .buffer_unordered(if endpoint == "token refresh" {
                1
            } else {
                concurrency.max(1)
            })
            .collect()
            .await;
        let elapsed = started.elapsed();
        let errors = results.iter().filter(|(_, ok)| !ok).count();
        let mut latencies: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
        let (p50, p99, _) = stats::summary(&mut latencies);
        rows.push(Row {
            endpoint,
            requests,
            errors,
            per_second: requests as f64 / elapsed.as_secs_f64(),
            p50,
            p99,
        });
    }
    Ok(rows)
}

pub fn print(rows: &[Row], concurrency: usize) {
    println!("REST at concurrency {concurrency}:");
    println!(
        "  {:<16} {:>9} {:>7} {:>10} {:>9} {:>9}",
        "endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms"
    );
    for r in rows {
        println!(
            "  {:<16} {:>9} {:>7} {:>10.0} {:>9.2} {:>9.2}",
            r.endpoint,
            r.requests,
            r.errors,
            r.per_second,
            stats::ms(r.p50),
            stats::ms(r.p99)
        );
    }
}

pub fn to_json(rows: &[Row], concurrency: usize) -> Value {
    json!({
        "concurrency": concurrency,
        "endpoints": rows.iter().map(|r| json!({
            "endpoint": r.endpoint, "requests": r.requests, "errors": r.errors,
            "per_second": r.per_second, "p50_ms": stats::ms(r.p50), "p99_ms": stats::ms(r.p99),
        })).collect::<Vec<_>>(),
    })
}
