//! The WebSocket face of the use-cases: API Gateway WebSocket proxy events in,
//! `{statusCode}` answers out, events pushed through the notifier.
//!
//! [`WsEvent`] has the JSON shape API Gateway sends to the `$connect`,
//! `$default` and `$disconnect` Lambdas; the local gateway builds the very
//! same events for its sockets.
//!
//! The frames a client sends are [`frames::ClientFrame`]; the events the
//! server pushes are [`crate::events::ServerEvent`].

pub mod frames;

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Connection, RoomId};
use crate::events::ServerEvent;
use crate::http::errors;
use crate::usecases::realtime::{self, MAX_FRAME_BYTES};
use crate::usecases::{auth, messages, profile, rooms};
use crate::{Ctx, Error, Result};
use frames::ClientFrame;

/// An API Gateway WebSocket proxy event (the fields this backend reads).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsEvent {
    /// Request headers (on `$connect`).
    #[serde(default)]
    pub headers: Option<HashMap<String, String>>,
    /// Query string (on `$connect`).
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
    /// Which route and connection.
    pub request_context: WsRequestContext,
    /// The frame (on messages).
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64 (binary frames).
    #[serde(default)]
    pub is_base64_encoded: bool,
}

/// The `requestContext` of a [`WsEvent`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsRequestContext {
    /// `$connect`, `$disconnect`, `$default` or a custom route.
    pub route_key: String,
    /// API Gateway's id of the connection.
    pub connection_id: String,
    /// `CONNECT`, `MESSAGE` or `DISCONNECT`.
    #[serde(default)]
    pub event_type: Option<String>,
    /// The API's domain, from which the management endpoint is derived.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// The API's stage.
    #[serde(default)]
    pub stage: Option<String>,
}

/// What a WebSocket Lambda returns to API Gateway. On `$connect`, a status
/// other than 200 refuses the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsResponse {
    /// HTTP status.
    pub status_code: u16,
    /// Body (an error explanation on a refused connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl WsResponse {
    fn ok() -> Self {
        Self {
            status_code: 200,
            body: None,
        }
    }
}

/// Serves one WebSocket event.
pub async fn handle(ctx: &Ctx, event: WsEvent) -> WsResponse {
    let connection_id = event.request_context.connection_id.clone();
    match event.request_context.route_key.as_str() {
        "$connect" => match on_connect(ctx, &event).await {
            Ok(_) => WsResponse::ok(),
            Err(e) => {
                let response = errors::to_response(e);
                WsResponse {
                    status_code: response.status.as_u16(),
                    body: Some(String::from_utf8_lossy(&response.body).into_owned()),
                }
            }
        },
        "$disconnect" => {
            if let Err(e) = realtime::disconnect(ctx, &connection_id).await {
                tracing::warn!(error = %e, "disconnect failed");
            }
            WsResponse::ok()
        }
        _ => {
            on_frame(ctx, &connection_id, &event).await;
            WsResponse::ok()
        }
    }
}

async fn on_connect(ctx: &Ctx, event: &WsEvent) -> Result<Connection> {
    let query = event.query_string_parameters.as_ref();
    let header_token = event.headers.as_ref().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
    });
    let token = query
        .and_then(|q| q.get("token").cloned())
        .or(header_token)
        .ok_or_else(Error::not_authenticated)?;
    let claims = auth::access_claims(ctx, &token)?;
    let room = query
        .and_then(|q| q.get("room_id"))
        .map(|raw| RoomId::parse(raw).ok_or_else(realtime::not_member))
        .transpose()?;
    realtime::connect(ctx, &event.request_context.connection_id, room, &claims).await
}

async fn on_frame(ctx: &Ctx, connection_id: &str, event: &WsEvent) {
    let raw = event.body.clone().unwrap_or_default();
    let too_large = || {
        let detail = format!("Frames are limited to {MAX_FRAME_BYTES} bytes.");
        ServerEvent::frame_error("frame_too_large", &detail)
    };
    // Base64 of a frame over the limit is longer than this; the decoded
    // length is checked too, so that binary and text frames stop at the
    // same size.
    if raw.len() > MAX_FRAME_BYTES.div_ceil(3) * 4
        || (!event.is_base64_encoded && raw.len() > MAX_FRAME_BYTES)
    {
        return realtime::reply(ctx, connection_id, &too_large()).await;
    }
    let text = if event.is_base64_encoded {
        let Ok(bytes) = STANDARD.decode(&raw) else {
            let error =
                ServerEvent::frame_error("invalid_frame", "Frames must be UTF-8 JSON text.");
            return realtime::reply(ctx, connection_id, &error).await;
        };
        if bytes.len() > MAX_FRAME_BYTES {
            return realtime::reply(ctx, connection_id, &too_large()).await;
        }
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                let error =
                    ServerEvent::frame_error("invalid_frame", "Frames must be UTF-8 JSON text.");
                return realtime::reply(ctx, connection_id, &error).await;
            }
        }
    } else {
        raw
    };
    let object = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            let error = ServerEvent::frame_error("invalid_frame", "A frame must be a JSON object.");
            return realtime::reply(ctx, connection_id, &error).await;
        }
        Err(e) => {
            let detail = format!("JSON parse error - {e}");
            let error = ServerEvent::frame_error("invalid_json", &detail);
            return realtime::reply(ctx, connection_id, &error).await;
        }
    };
    let client_id = object.get("client_id").cloned();
    let now = ctx.clock.now();
    let connection = match ctx.connections.connection(connection_id, now).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            // Its token expired (or it was never recorded): say so, then
            // close it, so that the client reconnects with a fresh token.
            let detail = "This connection is closed: its token expired, or it is not registered. Reconnect with a fresh access token.";
            let error = ServerEvent::frame_error("not_connected", detail);
            realtime::reply(ctx, connection_id, &error).await;
            if let Err(e) = ctx.notifier.close(connection_id).await {
                tracing::warn!(error = %e, "closing an expired connection failed");
            }
            return;
        }
        Err(e) => {
            return realtime::reply(ctx, connection_id, &ServerEvent::from_error(e, client_id))
                .await;
        }
    };
    let result = match ClientFrame::from_object(object) {
        Ok(frame) => dispatch(ctx, &connection, frame).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        realtime::reply(ctx, connection_id, &ServerEvent::from_error(e, client_id)).await;
    }
}

async fn dispatch(ctx: &Ctx, connection: &Connection, frame: ClientFrame) -> Result<()> {
    if matches!(frame, ClientFrame::Ping) {
        realtime::reply(ctx, &connection.id, &ServerEvent::Pong).await;
        return Ok(());
    }
    let room = frame_room(connection, frame.named_room()?)?;
    match frame {
        ClientFrame::Send(send) => {
            let send = send.validate()?;
            messages::send_with_files(
                ctx,
                &connection.user_id,
                &room,
                send.body,
                send.client_id,
                &send.files,
            )
            .await?;
            Ok(())
        }
        ClientFrame::Typing(typing) => {
            rooms::room_for_member(ctx, &connection.user_id, &room).await?;
            let user = profile::me(ctx, &connection.user_id).await?;
            realtime::typing(ctx, &user, &room, typing.is_typing()).await
        }
        ClientFrame::Read(read) => {
            realtime::read(ctx, &connection.user_id, &room, &read.message_id()?)
                .await
                .map(|_| ())
        }
        ClientFrame::Sync(sync) => {
            let (after_seq, after_change) = (sync.after_seq()?, sync.after_change()?);
            realtime::sync(ctx, connection, &room, after_seq, after_change).await
        }
        ClientFrame::Ping => Ok(()),
    }
}

/// The room a frame is about: the one it names, or the socket's room. A
/// per-room socket only speaks about its own room.
fn frame_room(connection: &Connection, named: Option<RoomId>) -> Result<RoomId> {
    match (&connection.room_id, named) {
        (Some(own), Some(named)) if *own != named => Err(Error::field(
            "room_id",
            "This socket is bound to another room.",
        )),
        (Some(own), _) => Ok(own.clone()),
        (None, Some(named)) => Ok(named),
        (None, None) => Err(Error::field(
            "room_id",
            "room_id is required on a per-user socket.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the function answers to one binary frame of `size` bytes.
    async fn answer_to_binary_frame(size: usize) -> Option<String> {
        use crate::adapters::{ChannelNotifier, SocketCommand};
        let config = crate::config::Config {
            jwt_secret: crate::config::Secret::new(vec![7; 32]).ok()?,
            settings: crate::config::Settings::default(),
        };
        let sockets = std::sync::Arc::new(ChannelNotifier::default());
        let mut ctx = crate::adapters::embedded_context(&config, "http://127.0.0.1:1");
        ctx.notifier = sockets.clone();
        let mut queue = sockets.register("c");
        let event = WsEvent {
            request_context: WsRequestContext {
                route_key: "$default".into(),
                connection_id: "c".into(),
                ..WsRequestContext::default()
            },
            body: Some(STANDARD.encode(vec![b'x'; size])),
            is_base64_encoded: true,
            ..WsEvent::default()
        };
        handle(&ctx, event).await;
        match queue.try_recv()? {
            SocketCommand::Send(text) => Some(text),
            SocketCommand::Close => None,
        }
    }

    #[tokio::test]
    async fn binary_frames_stop_at_the_same_size_as_text_ones() {
        let over = answer_to_binary_frame(MAX_FRAME_BYTES + 1)
            .await
            .unwrap_or_default();
        assert!(over.contains("frame_too_large"), "{over}");
        let at = answer_to_binary_frame(MAX_FRAME_BYTES)
            .await
            .unwrap_or_default();
        assert!(at.contains("invalid_json"), "{at}");
    }

    #[test]
    fn parses_an_api_gateway_connect_event() -> std::result::Result<(), serde_json::Error> {
        // Trimmed from the event API Gateway documents for `$connect`.
        let event: WsEvent = serde_json::from_str(
            r#"{
              "headers": {"Host": "abc.execute-api.eu-west-1.amazonaws.com", "Sec-WebSocket-Version": "13"},
              "multiValueHeaders": {"Host": ["abc.execute-api.eu-west-1.amazonaws.com"]},
              "queryStringParameters": {"token": "t", "room_id": "R1"},
              "requestContext": {
                "routeKey": "$connect", "eventType": "CONNECT", "extendedRequestId": "x",
                "requestTime": "26/Nov/2026:20:15:35 +0000", "messageDirection": "IN",
                "stage": "prod", "connectedAt": 1764188135000, "requestTimeEpoch": 1764188135000,
                "identity": {"sourceIp": "192.0.2.1"}, "requestId": "x",
                "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
                "connectionId": "L0SM9cOFvHcCIhw=", "apiId": "abc"
              },
              "isBase64Encoded": false
            }"#,
        )?;
        assert_eq!(event.request_context.route_key, "$connect");
        assert_eq!(event.request_context.connection_id, "L0SM9cOFvHcCIhw=");
        assert_eq!(event.request_context.stage.as_deref(), Some("prod"));
        assert_eq!(
            event
                .query_string_parameters
                .and_then(|q| q.get("room_id").cloned())
                .as_deref(),
            Some("R1")
        );
        let response = serde_json::to_value(WsResponse::ok())?;
        assert_eq!(response, serde_json::json!({ "statusCode": 200 }));
        Ok(())
    }
}
