//! The accept loop: HTTP/1 with upgrades (WebSockets), time limits on
//! reading a request's headers, a cap on open connections, and a graceful
//! shutdown. `axum::serve` has none of the limits, so a few hundred silent
//! connections could take every file descriptor and stop the gateway serving
//! anyone.
//!
//! - A connection must send a request's headers within
//!   [`ConnectionLimits::header_timeout`] of opening, and of finishing its
//!   previous request (so an idle keep-alive connection is closed too).
//! - At most [`ConnectionLimits::max_connections`] are open at once. When a
//!   new one arrives at the cap, the oldest connection that has not sent a
//!   request yet is closed to make room (silent ones go first, clients that
//!   are being served stay); if every connection is busy, the new one is
//!   refused. Either is logged, at most once a second.
//! - Each request carries the peer's address (axum's `ConnectInfo`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// How connections are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's headers (from opening, or from the end of
    /// the previous request).
    pub header_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// File descriptors kept for everything but client connections (the store,
/// files, Redis, logs).
const RESERVED_FDS: u64 = 64;

impl ConnectionLimits {
    /// 10 seconds for headers, and as many connections as the process's
    /// file-descriptor limit allows (raised to its hard limit first), less
    /// [`RESERVED_FDS`].
    pub fn from_fd_limit() -> Self {
        let limit = rlimit::increase_nofile_limit(u64::MAX)
            .or_else(|_| rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft))
            .unwrap_or(1024);
        let usable = limit.saturating_sub(RESERVED_FDS).max(16);
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: usize::try_from(usable).unwrap_or(usize::MAX),
        }
    }
}

/// One open connection, as the accept loop sees it.
#[derive(Debug, Default)]
struct Open {
    /// Set by its first request.
    served: AtomicBool,
    /// Told to close to make room.
    evict: Notify,
}

/// The connections that have not sent a request yet, oldest first.
#[derive(Debug, Default)]
struct Silent(Mutex<BTreeMap<u64, Arc<Open>>>);

impl Silent {
    fn insert(&self, id: u64, open: Arc<Open>) {
        if let Ok(mut silent) = self.0.lock() {
            silent.insert(id, open);
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut silent) = self.0.lock() {
            silent.remove(&id);
        }
    }

    /// Closes the oldest connection that still has not sent a request.
    fn evict_oldest(&self) -> bool {
        let Ok(mut silent) = self.0.lock() else {
            return false;
        };
        while let Some((_, open)) = silent.pop_first() {
            if !open.served.load(Ordering::Relaxed) {
                open.evict.notify_one();
                return true;
            }
        }
        false
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests
/// in flight finish, with [`ConnectionLimits::from_fd_limit`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, ConnectionLimits::from_fd_limit()).await
}

/// [`serve`] with the given limits.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let silent = Arc::new(Silent::default());
    let mut stopping = stop_rx.clone();
    let mut last_warning: Option<Instant> = None;
    let mut warn = |what: &str| {
        if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            tracing::warn!(max_connections = limits.max_connections, "{what}");
            last_warning = Some(Instant::now());
        }
    };
    let mut next_id: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (or a connection reset while queued):
                // wait a little rather than spin.
                warn(&format!("accepting a connection failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if silent.evict_oldest() {
                    warn(
                        "at the connection limit: closing the oldest connection that sent nothing",
                    );
                    match tokio::time::timeout(
                        Duration::from_millis(200),
                        slots.clone().acquire_owned(),
                    )
                    .await
                    {
                        Ok(Ok(slot)) => slot,
                        _ => continue,
                    }
                } else {
                    warn("at the connection limit with every connection busy: refusing one");
                    continue;
                }
            }
        };
        next_id += 1;
        let id = next_id;
        let open = Arc::new(Open::default());
        silent.insert(id, open.clone());
        let first_request = {
            let (open, silent) = (open.clone(), silent.clone());
            move |mut request: http::Request<Incoming>| {
                if !open.served.swap(true, Ordering::Relaxed) {
                    silent.remove(id);
                }
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(axum::body::Body::new)
            }
        };
        let service = TowerToHyperService::new(app.clone().map_request(first_request));
        let mut stop = stop_rx.clone();
        let silent = silent.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let mut draining = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    () = open.evict.notified() => break,
                    _ = stop.wait_for(|stop| *stop), if !draining => {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            silent.remove(id);
            drop(slot);
        });
    }
    drop(listener);
    // Wait for the connections in flight (not the WebSockets they became).
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
    Ok(())
}
