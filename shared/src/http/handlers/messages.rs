//! A room's messages: history and sending.

use serde::Deserialize;

use super::{caller, created_or_ok, ok, room_param, ApiRequest, ApiResponse};
use crate::domain::MessageBody;
use crate::error::Validator;
use crate::fields::Field;
use crate::http::body::json_body;
use crate::http::views::{Message, Page};
use crate::usecases::messages::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::{Ctx, Error, Result};

/// The `limit` query parameter: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
fn page_limit(req: &ApiRequest) -> Result<usize> {
    match req.query("limit") {
        None => Ok(DEFAULT_PAGE),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(Error::field(
                "limit",
                format!("Must be an integer from 1 to {MAX_PAGE}."),
            )),
        },
    }
}

pub async fn messages_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let limit = page_limit(req)?;
    let page = messages::history(ctx, &me, &room, req.query("before"), limit).await?;
    ok(&Page::from(&page))
}

/// `POST /api/chat/rooms/{id}/messages/`
#[derive(Debug, Deserialize)]
pub struct SendMessageRequest {
    /// The text (the seed's name).
    #[serde(default)]
    message: Field<String>,
    /// The text, under its other name.
    #[serde(default)]
    content: Field<String>,
    /// The sender's idempotency key.
    #[serde(default)]
    client_id: Field<String>,
}

impl SendMessageRequest {
    /// The text and the idempotency key.
    pub fn validate(self) -> Result<(MessageBody, Option<String>)> {
        let mut v = Validator::new();
        // The seed calls it `message`; `content` is accepted as an alias.
        let (name, text) = if self.message.is_present() || !self.content.is_present() {
            ("message", self.message)
        } else {
            ("content", self.content)
        };
        let text = text
            .required(&mut v, name)
            .and_then(|t| v.check(name, MessageBody::parse(&t)));
        let client_id = self
            .client_id
            .optional(&mut v, "client_id")
            .and_then(|c| v.check("client_id", messages::parse_client_id(&c)));
        match text {
            Some(text) => v.finish().map(|()| (text, client_id)),
            None => Err(v.into_error()),
        }
    }
}

pub async fn messages_send(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let (text, client_id) = json_body::<SendMessageRequest>(req)?.validate()?;
    let sent = messages::send(ctx, &me, &room, text, client_id).await?;
    created_or_ok(sent.created, &Message::sent(&sent.message))
}
