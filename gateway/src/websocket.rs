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

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chat_core::adapters::{ChannelNotifier, SocketCommand};
use chat_core::http::ApiRequest;
use chat_core::security::random;
use chat_core::ws::{self, WsEvent, WsRequestContext};
use chat_core::Ctx;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;

/// The stage name the local "API" reports in its events.
pub const LOCAL_STAGE: &str = "local";
/// Largest frame the local socket accepts before the handler sees it; the
/// handler itself answers frames over 32 KB with an error event.
const MAX_SOCKET_FRAME: usize = 1024 * 1024;

/// What the WebSocket routes need.
#[derive(Clone)]
pub struct Realtime {
    /// The handlers' context.
    pub ctx: Arc<Ctx>,
    /// The open sockets.
    pub sockets: Arc<ChannelNotifier>,
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

fn event(route_key: &str, event_type: &str, connection_id: &str) -> WsEvent {
    WsEvent {
        request_context: WsRequestContext {
            route_key: route_key.to_owned(),
            connection_id: connection_id.to_owned(),
            event_type: Some(event_type.to_owned()),
            domain_name: Some("localhost".to_owned()),
            stage: Some(LOCAL_STAGE.to_owned()),
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
    let outgoing = rt.sockets.register(&id);
    let mut connect = event("$connect", "CONNECT", &id);
    connect.headers = Some(header_map);
    connect.query_string_parameters = Some(params);
    let answer = ws::handle(&rt.ctx, connect).await;
    if answer.status_code != 200 {
        rt.sockets.unregister(&id);
        let status = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::FORBIDDEN);
        let body = answer.body.unwrap_or_default();
        return (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    upgrade
        .max_message_size(MAX_SOCKET_FRAME)
        .on_upgrade(move |socket| run(rt, id, socket, outgoing))
}

/// Pumps frames both ways until either side closes, then sends `$disconnect`.
async fn run(
    rt: Realtime,
    id: String,
    socket: WebSocket,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<SocketCommand>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(command) = outgoing.recv().await {
            match command {
                SocketCommand::Send(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                SocketCommand::Close => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            }
        }
    });
    while let Some(Ok(frame)) = stream.next().await {
        let (body, is_base64) = match frame {
            Message::Text(text) => (text.as_str().to_owned(), false),
            Message::Binary(bytes) => (STANDARD.encode(&bytes), true),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let mut message = event("$default", "MESSAGE", &id);
        message.body = Some(body);
        message.is_base64_encoded = is_base64;
        ws::handle(&rt.ctx, message).await;
        if writer.is_finished() {
            break;
        }
    }
    rt.sockets.unregister(&id);
    writer.abort();
    ws::handle(&rt.ctx, event("$disconnect", "DISCONNECT", &id)).await;
}
