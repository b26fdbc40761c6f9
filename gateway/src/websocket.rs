//! A faithful stand-in for an API Gateway WebSocket API: each socket gets a
//! connection id, and its lifecycle becomes the same `$connect`, `$default`
//! and `$disconnect` events the Lambdas receive, handled by the same
//! [`chat_core::ws::handle`]. Outgoing frames arrive through the
//! [`ChannelNotifier`], the registry that the `@connections` API also uses.
//!
//! Paths: `/ws/chat/{room_id}/` (the seed's per-room socket; the room becomes
//! the `room_id` query parameter, as on API Gateway, whose socket URLs have
//! no path parameters) and `/ws/` (per-user socket, or `?room_id=`).
//! The token comes as `?token=` or `Authorization: Bearer`.
//!
//! API Gateway's limits hold here too ([`SocketLimits`]), so that the bugs
//! they cause show up on a laptop first: a socket idle for 10 minutes (no
//! frame either way) or open for 2 hours is closed (1001), a frame over
//! 32 KB or a message over 128 KB closes it with 1009, and `$disconnect`
//! follows every close, whoever closed. The product's own rule comes on
//! top: a socket lives as long as the access token it opened with and is
//! closed with 1008 "Token expired" then (on AWS, where nothing runs at that
//! moment, it receives nothing from then on and its next frame closes it).
//!
//! What waits to be sent to a socket is bounded
//! ([`QueueLimits`](chat_core::adapters::QueueLimits)): a client that stops
//! reading fills its queue, from then on posts to it are `Gone` (so it is
//! neither counted as reached nor kept "online"), and the socket is closed
//! with 1013; a writer still blocked on it after 5 seconds is dropped with
//! the TCP connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chat_core::adapters::{SocketCommand, SocketQueue};
use chat_core::http::ApiRequest;
use chat_core::security::random;
use chat_core::ws::{self, AuthorizerEvent, ConnectionContext, WsEvent, WsRequestContext};
use chat_core::Ctx;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The stage name the local "API" reports in its events.
pub const LOCAL_STAGE: &str = "local";
/// API Gateway's WebSocket frame limit.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// API Gateway's WebSocket message limit (a message may span frames).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// How long a closing socket's writer may take to send what is queued and
/// the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long a socket may stay open and stay silent, as on API Gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLimits {
    /// Closed after this long without a frame in either direction.
    pub idle_timeout: Duration,
    /// Closed this long after it opened, whatever happens.
    pub max_duration: Duration,
}

impl Default for SocketLimits {
    /// API Gateway's: 10 minutes idle, 2 hours in all.
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(10 * 60),
            max_duration: Duration::from_secs(2 * 3600),
        }
    }
}

/// What the WebSocket routes need.
#[derive(Clone)]
pub struct Realtime {
    /// The handlers' context.
    pub ctx: Arc<Ctx>,
    /// The open sockets.
    pub sockets: crate::Sockets,
    /// When sockets are closed.
    pub limits: SocketLimits,
}

/// The WebSocket routes.
pub fn router(realtime: Realtime) -> Router {
    Router::new()
        .route("/ws/chat/{room_id}/", get(room_socket))
        .route("/ws/", get(user_socket))
        .route("/ws", get(user_socket))
        .with_state(realtime)
}

async fn room_socket(
    State(rt): State<Realtime>,
    Path(room_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    open(rt, Some(room_id), query, headers, upgrade).await
}

async fn user_socket(
    State(rt): State<Realtime>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    open(rt, None, query, headers, upgrade).await
}

/// An id shaped like API Gateway's (`L0SM9cOFvHcCIhw=`).
fn new_connection_id() -> String {
    let mut bytes = [0u8; 10];
    let _ = random::fill(&mut bytes);
    STANDARD.encode(bytes)
}

/// An event of connection `connection_id`, carrying what its authorizer
/// returned, as API Gateway's do.
fn event(
    route_key: &str,
    event_type: &str,
    connection_id: &str,
    authorizer: &ConnectionContext,
) -> WsEvent {
    WsEvent {
        request_context: WsRequestContext {
            route_key: route_key.to_owned(),
            connection_id: connection_id.to_owned(),
            event_type: Some(event_type.to_owned()),
            domain_name: Some("localhost".to_owned()),
            stage: Some(LOCAL_STAGE.to_owned()),
            authorizer: Some(authorizer.clone()),
        },
        ..WsEvent::default()
    }
}

async fn open(
    rt: Realtime,
    room: Option<String>,
    query: Option<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let id = new_connection_id();
    let mut params = query
        .as_deref()
        .map(ApiRequest::parse_query)
        .unwrap_or_default();
    if let Some(room) = room {
        params.insert("room_id".into(), room);
    }
    let header_map: HashMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    // Registered before `$connect` runs, so nothing posted right after is lost.
    let outgoing = rt.sockets.local.register(&id);
    if let Some(relay) = &rt.sockets.relay {
        if let Err(e) = relay.claim(&id).await {
            rt.sockets.local.unregister(&id);
            tracing::warn!(error = %e, "could not record a new connection");
            return crate::into_axum(chat_core::http::errors::to_response(e));
        }
    }
    // The `$connect` authorizer runs first; its context goes with every
    // event of the connection.
    let authorized = ws::authorize(
        &rt.ctx,
        &AuthorizerEvent {
            headers: Some(header_map.clone()),
            query_string_parameters: Some(params.clone()),
            method_arn: format!(
                "arn:aws:execute-api:local:000000000000:local/{LOCAL_STAGE}/$connect"
            ),
        },
    );
    let authorizer = authorized.context;
    let mut connect = event("$connect", "CONNECT", &id, &authorizer);
    connect.headers = Some(header_map);
    connect.query_string_parameters = Some(params);
    let answer = ws::handle(&rt.ctx, connect).await;
    if answer.status_code != 200 {
        rt.sockets.local.unregister(&id);
        if let Some(relay) = &rt.sockets.relay {
            relay.release(&id).await;
        }
        let status = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::FORBIDDEN);
        let body = answer.body.unwrap_or_default();
        return (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    let token_expiry = token_expiry(&rt, &id).await;
    upgrade
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(rt, id, authorizer, socket, outgoing, token_expiry))
}

/// When the token the connection opened with expires (its recorded
/// expiry), as an instant of the runtime's clock: the socket is closed then.
async fn token_expiry(rt: &Realtime, id: &str) -> Option<Instant> {
    let now = rt.ctx.clock.now();
    let connection = rt.ctx.connections.connection(id, now).await.ok()??;
    let left = connection.expires_at.millis().saturating_sub(now.millis());
    Some(Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(0)))
}

/// Milliseconds since `start`, for the activity clock the two halves share.
fn since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn close_frame(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// The close frame that answers a read error caused by the client: 1009
/// for a frame or message over the limits, 1007 for text that is not
/// UTF-8, 1002 for a protocol violation. None when the connection itself
/// failed (nothing can be sent then).
fn close_for(error: axum::Error) -> Option<CloseFrame> {
    let error = error.into_inner();
    match error.downcast_ref::<tungstenite::Error>()? {
        tungstenite::Error::Capacity(_) => Some(close_frame(close_code::SIZE, "Message too big")),
        tungstenite::Error::Utf8(_) => Some(close_frame(
            close_code::INVALID,
            "Text frames must be UTF-8",
        )),
        tungstenite::Error::Protocol(_) => {
            Some(close_frame(close_code::PROTOCOL, "Protocol error"))
        }
        _ => None,
    }
}

/// Pumps frames both ways until either side closes or a limit is reached,
/// then sends `$disconnect`.
async fn run(
    rt: Realtime,
    id: String,
    authorizer: ConnectionContext,
    socket: WebSocket,
    mut outgoing: SocketQueue,
    token_expiry: Option<Instant>,
) {
    let opened = Instant::now();
    let mut fell_behind = outgoing.fell_behind();
    let last_activity = Arc::new(AtomicU64::new(0));
    let (mut sink, mut stream) = socket.split();
    let (close_tx, close_rx) = oneshot::channel::<CloseFrame>();
    // Dropped when the writer ends (a failed send, or a close asked through
    // `@connections`): the connection is over then, as on API Gateway,
    // without waiting for the client to answer the close.
    let (writer_alive, mut writer_ended) = oneshot::channel::<()>();
    let writer_activity = last_activity.clone();
    // Sends what the notifier queues. When the reader stops, the registry
    // drops the queue: what was queued still goes out, then the close frame
    // the reader chose (if it chose one).
    let writer = tokio::spawn(async move {
        let _alive = writer_alive;
        while let Some(command) = outgoing.recv().await {
            match command {
                SocketCommand::Send(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                    writer_activity.store(since(opened), Ordering::Relaxed);
                }
                SocketCommand::Close => {
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            }
        }
        if let Ok(frame) = close_rx.await {
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
    });
    let limits = rt.limits;
    let end_of_life = opened + limits.max_duration;
    let token_end = token_expiry.unwrap_or(end_of_life);
    let closing = loop {
        let idle_since = opened + Duration::from_millis(last_activity.load(Ordering::Relaxed));
        let wake = end_of_life
            .min(token_end)
            .min(idle_since + limits.idle_timeout);
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = &mut writer_ended => break None,
            () = fell_behind.wait() => {
                break Some(close_frame(close_code::AGAIN, "Too slow: outgoing queue full"));
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if now >= end_of_life {
                    break Some(close_frame(close_code::AWAY, "Connection duration limit reached"));
                }
                if now >= token_end {
                    break Some(close_frame(close_code::POLICY, "Token expired"));
                }
                let idle_since =
                    opened + Duration::from_millis(last_activity.load(Ordering::Relaxed));
                if now >= idle_since + limits.idle_timeout {
                    break Some(close_frame(close_code::AWAY, "Idle timeout"));
                }
                continue;
            }
        };
        last_activity.store(since(opened), Ordering::Relaxed);
        let (body, is_base64) = match frame {
            Some(Ok(Message::Text(text))) => (text.as_str().to_owned(), false),
            Some(Ok(Message::Binary(bytes))) => (STANDARD.encode(&bytes), true),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break None,
            Some(Err(e)) => break close_for(e),
        };
        let mut message = event("$default", "MESSAGE", &id, &authorizer);
        message.body = Some(body);
        message.is_base64_encoded = is_base64;
        ws::handle(&rt.ctx, message).await;
        if writer.is_finished() {
            break None;
        }
    };
    rt.sockets.local.unregister(&id);
    if let Some(relay) = &rt.sockets.relay {
        relay.release(&id).await;
    }
    // A writer still sending after this (its client does not read) is
    // stopped, which drops the connection.
    let stop_writer = writer.abort_handle();
    match closing {
        Some(frame) => {
            let _ = close_tx.send(frame);
            if tokio::time::timeout(CLOSE_GRACE, writer).await.is_err() {
                stop_writer.abort();
            }
        }
        None => stop_writer.abort(),
    }
    ws::handle(
        &rt.ctx,
        event("$disconnect", "DISCONNECT", &id, &authorizer),
    )
    .await;
}
