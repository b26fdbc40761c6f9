//! # local-gateway
//!
//! Serves every route of the chat backend on one local port, calling the very
//! same handler functions as the Lambda binaries do, through the same
//! [`ApiRequest`]/[`ApiResponse`] types. It is how a newcomer runs the product
//! with one command and how the end-to-end tests drive it.
//!
//! ## Layout
//!
//! - [`config`]: bind address, CORS origins and secrets from the environment.
//! - [`data_dir`]: `DATA_DIR`, the embedded state kept across restarts.
//! - [`rest`]: one axum route per entry of [`chat_core::http::ROUTES`].
//! - [`media`]: serves the embedded blob store's pictures under `/media/`.
//! - [`web`]: the reference web client at `/`.
//! - [`websocket`]: API Gateway WebSocket emulation over the same handlers.
//! - [`management`]: the `@connections` management API.
//! - [`smtp`]: mail over SMTP (`SMTP_URL`), for deployments without SES.
//! - [`serve`](mod@serve): runs a router on a listener until a shutdown
//!   signal, with header-read timeouts and a connection cap.

pub mod config;
pub mod data_dir;
pub mod management;
pub mod media;
pub mod rest;
pub mod serve;
pub mod smtp;
pub mod web;
pub mod websocket;

use std::sync::Arc;

use axum::Router;
use chat_core::adapters::ChannelNotifier;
use chat_core::http::{ApiRequest, ApiResponse};
use chat_core::ports::{Delivery, Notifier};
use chat_core::Ctx;
use tower_http::cors::CorsLayer;

/// Everything the gateway serves: the REST routes, the WebSocket API and its
/// `@connections` management API over `sockets`, the embedded media (when the
/// blob store is the embedded one) and CORS.
pub fn app(
    ctx: Arc<Ctx>,
    sockets: Sockets,
    media: Option<media::Media>,
    cors: CorsLayer,
    limits: websocket::SocketLimits,
) -> Router {
    public_app(ctx, sockets.clone(), media, cors, limits).merge(management::router(sockets))
}

/// [`app`] without the `@connections` management API: what a gateway
/// listening beyond loopback serves on its public port (the management API
/// then has a loopback-only listener of its own).
pub fn public_app(
    ctx: Arc<Ctx>,
    sockets: Sockets,
    media: Option<media::Media>,
    cors: CorsLayer,
    limits: websocket::SocketLimits,
) -> Router {
    let mut router = rest::router(ctx.clone()).merge(websocket::router(websocket::Realtime {
        ctx,
        sockets,
        limits,
    }));
    if let Some(blobs) = media {
        router = router.merge(media::router(blobs));
    }
    router = router.merge(web::router());
    router.fallback(rest::not_found).layer(cors)
}

/// The sockets this process holds, and (on Redis) the relay that reaches
/// the sockets other processes hold.
#[derive(Clone, Debug)]
pub struct Sockets {
    /// This process's sockets.
    pub local: Arc<ChannelNotifier>,
    /// The other processes' sockets, when several share a Redis server.
    pub relay: Option<Arc<chat_redis::RedisRelay>>,
}

impl Sockets {
    /// Sockets of this process only.
    pub fn local(local: Arc<ChannelNotifier>) -> Self {
        Self { local, relay: None }
    }

    /// Posts a frame to a connection, wherever it is held.
    pub async fn post(&self, id: &str, payload: &[u8]) -> chat_core::Result<Delivery> {
        match &self.relay {
            Some(relay) => relay.post(id, payload).await,
            None => self.local.post(id, payload).await,
        }
    }

    /// Whether a process holds the connection.
    pub async fn is_open(&self, id: &str) -> chat_core::Result<bool> {
        match &self.relay {
            Some(relay) => relay.is_open(id).await,
            None => Ok(self.local.is_open(id)),
        }
    }

    /// Closes the connection wherever it is held; false if none holds it.
    pub async fn close(&self, id: &str) -> chat_core::Result<bool> {
        match &self.relay {
            Some(relay) => relay.close(id).await,
            None => Ok(self.local.close(id)),
        }
    }
}

pub use serve::{serve, serve_with, ConnectionLimits};

/// Converts a handler response to an axum response.
pub fn into_axum(response: ApiResponse) -> axum::response::Response {
    let mut out = axum::response::Response::new(axum::body::Body::from(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}

/// Re-exported for the binary and the tests.
pub type Request = ApiRequest;
