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

use crate::domain::{Connection, RoomId, Timestamp, UserId};
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
    /// What the `$connect` authorizer returned (see [`authorize`]); API
    /// Gateway hands it to every event of the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<ConnectionContext>,
}

/// What the `$connect` authorizer learnt from the token, carried by API
/// Gateway in `requestContext.authorizer` of every later event of the
/// connection, so that a frame need not read the connection's record. All
/// text, as API Gateway passes an authorizer's context on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionContext {
    /// Who connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The room a per-room socket is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// When the socket stops being served (milliseconds since the epoch):
    /// its token's expiry, or API Gateway's two-hour limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When it connected (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<String>,
    /// The login session the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

impl ConnectionContext {
    /// The connection `id` this context describes: `None` when it does not
    /// name a user and an expiry (no authorizer ran, or the token was not
    /// valid, in which case `$connect` refused the socket).
    fn connection(&self, id: &str) -> Option<Connection> {
        let millis = |raw: &Option<String>| raw.as_deref().and_then(|t| t.parse::<i64>().ok());
        let room_id = match &self.room_id {
            Some(raw) => Some(RoomId::parse(raw)?),
            None => None,
        };
        let expires_at = Timestamp::from_millis(millis(&self.expires_at)?);
        Some(Connection {
            id: id.to_owned(),
            user_id: UserId::parse(self.user_id.as_deref()?)?,
            room_id,
            connected_at: Timestamp::from_millis(millis(&self.connected_at).unwrap_or(0)),
            expires_at,
            family: self.family.clone(),
        })
    }
}

/// The event API Gateway sends a WebSocket API's `$connect` authorizer
/// (a Lambda `REQUEST` authorizer; the fields this backend reads).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    /// Request headers.
    #[serde(default)]
    pub headers: Option<HashMap<String, String>>,
    /// Query string.
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
    /// The `$connect` route's ARN, which the policy allows.
    #[serde(default)]
    pub method_arn: String,
}

/// An authorizer's answer: who, the policy, and the context API Gateway
/// passes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// The user id, or `anonymous` for a token that is not valid.
    pub principal_id: String,
    /// Allows the `$connect` route.
    pub policy_document: PolicyDocument,
    /// What the connection's events carry.
    pub context: ConnectionContext,
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    pub version: String,
    /// The statements.
    pub statement: Vec<PolicyStatement>,
}

/// One statement of a [`PolicyDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyStatement {
    /// `execute-api:Invoke`.
    pub action: String,
    /// `Allow`.
    pub effect: String,
    /// The route's ARN.
    pub resource: String,
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

/// The access token of a socket being opened: `?token=` or a bearer
/// `Authorization` header.
fn connect_token(
    headers: Option<&HashMap<String, String>>,
    query: Option<&HashMap<String, String>>,
) -> Option<String> {
    let header_token = headers.and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
    });
    query.and_then(|q| q.get("token").cloned()).or(header_token)
}

/// The `$connect` authorizer: reads the token and returns what every later
/// event of the connection should know about it, so that `$default` need
/// not read the connection's record on each frame. It always allows:
/// `$connect`, which checks the token again along with what needs the
/// store (a revoked session, room membership, the socket cap), is what
/// refuses, with the same answers as without an authorizer. A token that
/// is not valid gets no context, and a frame without one is served from the
/// record.
pub fn authorize(ctx: &Ctx, event: &AuthorizerEvent) -> AuthorizerResponse {
    let query = event.query_string_parameters.as_ref();
    let claims = connect_token(event.headers.as_ref(), query)
        .and_then(|token| auth::access_claims(ctx, &token).ok());
    let room_id = query.and_then(|q| q.get("room_id"));
    let context = match claims {
        Some(claims) if room_id.is_none_or(|raw| RoomId::parse(raw).is_some()) => {
            let now = ctx.clock.now();
            ConnectionContext {
                user_id: Some(claims.sub.clone()),
                room_id: room_id.cloned(),
                expires_at: Some(
                    realtime::connection_expiry(now, &claims)
                        .millis()
                        .to_string(),
                ),
                connected_at: Some(now.millis().to_string()),
                family: claims.fam,
            }
        }
        _ => ConnectionContext::default(),
    };
    AuthorizerResponse {
        principal_id: context
            .user_id
            .clone()
            .unwrap_or_else(|| "anonymous".to_owned()),
        policy_document: PolicyDocument {
            version: "2012-10-17".to_owned(),
            statement: vec![PolicyStatement {
                action: "execute-api:Invoke".to_owned(),
                effect: "Allow".to_owned(),
                resource: event.method_arn.clone(),
            }],
        },
        context,
    }
}

async fn on_connect(ctx: &Ctx, event: &WsEvent) -> Result<Connection> {
    let query = event.query_string_parameters.as_ref();
    let token =
        connect_token(event.headers.as_ref(), query).ok_or_else(Error::not_authenticated)?;
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
    // What the authorizer told API Gateway, or else the record.
    let known = event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|context| context.connection(connection_id));
    let connection = match known {
        Some(connection) => Ok((connection.expires_at > now).then_some(connection)),
        None => ctx.connections.connection(connection_id, now).await,
    };
    let connection = match connection {
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

    fn embedded() -> (Ctx, std::sync::Arc<crate::adapters::ChannelNotifier>) {
        let config = crate::config::Config {
            jwt_secret: crate::config::Secret::new(vec![7; 32]).expect("secret"),
            settings: crate::config::Settings::default(),
        };
        let sockets = std::sync::Arc::new(crate::adapters::ChannelNotifier::default());
        let mut ctx = crate::adapters::embedded_context(&config, "http://127.0.0.1:1");
        ctx.notifier = sockets.clone();
        (ctx, sockets)
    }

    fn token(ctx: &Ctx, user: &str, expires_in_secs: i64) -> String {
        let now = ctx.clock.now().secs();
        let claims = crate::security::jwt::Claims {
            sub: user.into(),
            token_type: crate::security::jwt::TokenType::Access,
            exp: now + expires_in_secs,
            iat: now,
            jti: "j".into(),
            fam: Some("f1".into()),
        };
        ctx.jwt.sign(&claims).expect("sign")
    }

    fn connect_request(query: &[(&str, &str)], headers: &[(&str, &str)]) -> AuthorizerEvent {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        AuthorizerEvent {
            headers: Some(map(headers)),
            query_string_parameters: Some(map(query)),
            method_arn: "arn:aws:execute-api:eu-west-1:1:abc/prod/$connect".into(),
        }
    }

    /// The authorizer passes on who a valid token names, until when, and the
    /// room of a per-room socket, in the shape API Gateway expects; it
    /// allows every request (`$connect` refuses), but a token that is not
    /// valid, or a room id that is not one, gets no context.
    #[test]
    fn the_authorizer_passes_on_a_valid_token_and_nothing_else() {
        let (ctx, _) = embedded();
        let now = ctx.clock.now();
        let short = token(&ctx, "U1", 600);
        let answer = authorize(
            &ctx,
            &connect_request(&[("token", &short), ("room_id", "R1")], &[]),
        );
        let json = serde_json::to_value(&answer).expect("json");
        assert_eq!(json["principalId"], "U1");
        assert_eq!(
            json["policyDocument"],
            serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Effect": "Allow",
                "Resource": "arn:aws:execute-api:eu-west-1:1:abc/prod/$connect"}]})
        );
        let context = &json["context"];
        assert_eq!(context["user_id"], "U1");
        assert_eq!(context["room_id"], "R1");
        assert_eq!(context["family"], "f1");
        let expiry = now.plus_secs(600).millis() / 1000 * 1000;
        assert_eq!(
            context["expires_at"],
            expiry.to_string(),
            "the token's expiry"
        );
        let long = token(&ctx, "U1", 6 * 3600);
        let header = format!("Bearer {long}");
        let answer = authorize(&ctx, &connect_request(&[], &[("Authorization", &header)]));
        assert_eq!(
            answer.context.expires_at,
            Some(now.plus_secs(2 * 3600).millis().to_string()),
            "at most API Gateway's two hours"
        );
        for refused in [
            connect_request(&[("token", "not-a-token")], &[]),
            connect_request(&[], &[]),
            connect_request(&[("token", &short), ("room_id", "../R1")], &[]),
        ] {
            let answer = authorize(&ctx, &refused);
            assert_eq!(answer.principal_id, "anonymous");
            assert_eq!(answer.context, ConnectionContext::default());
            assert_eq!(answer.policy_document.statement[0].effect, "Allow");
        }
    }

    /// What `connection` "c" is told in answer to a ping carrying
    /// `authorizer` (and no record of the connection in the store).
    async fn answer_to_ping(authorizer: Option<ConnectionContext>) -> Vec<String> {
        use crate::adapters::SocketCommand;
        let (ctx, sockets) = embedded();
        let mut queue = sockets.register("c");
        let event = WsEvent {
            request_context: WsRequestContext {
                route_key: "$default".into(),
                connection_id: "c".into(),
                authorizer,
                ..WsRequestContext::default()
            },
            body: Some(r#"{"action": "ping"}"#.into()),
            ..WsEvent::default()
        };
        handle(&ctx, event).await;
        std::iter::from_fn(|| queue.try_recv())
            .map(|command| match command {
                SocketCommand::Send(text) => text,
                SocketCommand::Close => "closed".to_owned(),
            })
            .collect()
    }

    /// A frame is served from its authorizer context without reading the
    /// connection; once the context's expiry has passed it is answered
    /// `not_connected` and the socket closed; without a context, from the
    /// record (here there is none).
    #[tokio::test]
    async fn a_frame_is_served_from_its_authorizer_context() {
        let context = |expires_at: i64| ConnectionContext {
            user_id: Some("U1".into()),
            expires_at: Some(expires_at.to_string()),
            ..ConnectionContext::default()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let live = answer_to_ping(Some(context(now + 60_000))).await;
        assert_eq!(live.len(), 1, "{live:?}");
        assert!(live[0].contains("pong"), "{live:?}");
        for (authorizer, why) in [
            (Some(context(now - 1)), "expired"),
            (Some(ConnectionContext::default()), "an empty context"),
            (None, "no context, no record"),
        ] {
            let told = answer_to_ping(authorizer).await;
            assert!(
                told.len() == 2 && told[0].contains("not_connected") && told[1] == "closed",
                "{why}: {told:?}"
            );
        }
    }

    #[test]
    fn parses_a_message_event_with_its_authorizer_context(
    ) -> std::result::Result<(), serde_json::Error> {
        // API Gateway adds its own keys to the authorizer's context.
        let event: WsEvent = serde_json::from_str(
            r#"{
              "requestContext": {
                "routeKey": "$default", "eventType": "MESSAGE", "connectionId": "L0SM9cOFvHcCIhw=",
                "authorizer": {"principalId": "U1", "integrationLatency": 12,
                  "user_id": "U1", "expires_at": "1764195335000", "connected_at": "1764188135000"}
              },
              "body": "{}", "isBase64Encoded": false
            }"#,
        )?;
        let connection = event
            .request_context
            .authorizer
            .and_then(|a| a.connection("L0SM9cOFvHcCIhw="));
        assert_eq!(
            connection.map(|c| (
                c.user_id.as_str().to_owned(),
                c.expires_at.millis(),
                c.room_id
            )),
            Some(("U1".to_owned(), 1_764_195_335_000, None))
        );
        Ok(())
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
