//! A room's messages: history and sending.

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{caller, created_or_ok, message_param, ok, room_param, ApiRequest, ApiResponse};
use crate::domain::{Emoji, MessageBody, MessageId};
use crate::error::Validator;
use crate::events::AttachmentInfo;
use crate::fields::Field;
use crate::http::body::{json_body, query_params};
use crate::http::views::{AttachmentDownload, Message, Page, UnreadCount, UploadSlotView};
use crate::usecases::attachments;
use crate::usecases::messages::{self, Window, DEFAULT_PAGE, MAX_PAGE};
use crate::usecases::realtime;
use crate::{Ctx, Result};

/// The query of `GET /api/chat/rooms/{id}/messages/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many messages.
    #[serde(default)]
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, default = 50)]
    limit: Field<String>,
    /// The `next` cursor of the previous page: older messages, newest first.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    before: Field<String>,
    /// Catch-up: the messages with a higher `seq`, oldest first (the `next`
    /// of such a page is the `after_seq` of the following one). At most the
    /// room's `last_seq`.
    #[serde(default)]
    #[param(value_type = Option<u64>, minimum = 0)]
    after_seq: Field<String>,
}

impl HistoryQuery {
    /// The page size (1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent) and
    /// which messages.
    pub fn validate(self) -> Result<(usize, Window)> {
        let mut v = Validator::new();
        let limit = match self.limit.optional(&mut v, "limit") {
            None => DEFAULT_PAGE,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    v.add("limit", format!("Must be an integer from 1 to {MAX_PAGE}."));
                    DEFAULT_PAGE
                }
            },
        };
        let before = self.before.optional(&mut v, "before");
        let after = self
            .after_seq
            .optional(&mut v, "after_seq")
            .and_then(|raw| {
                let seq = messages::parse_seq(&raw);
                if seq.is_none() {
                    v.add(
                        "after_seq",
                        "Must be a non-negative integer (the last seq you have; 0 for none).",
                    );
                }
                seq
            });
        let window = match (before, after) {
            (Some(_), Some(_)) => {
                v.add("after_seq", "Give either before or after_seq, not both.");
                Window::After(0)
            }
            (_, Some(after)) => Window::After(after),
            (before, None) => Window::Before(before),
        };
        v.finish().map(|()| (limit, window))
    }
}

pub async fn messages_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let (limit, window) = query_params::<HistoryQuery>(req)?.validate()?;
    let page = messages::history(ctx, &me, &room, window, limit).await?;
    ok(&Page::seen_by(&page, &me))
}

/// `POST /api/chat/rooms/{id}/messages/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    /// The text (the seed's name); may be left out when files are attached.
    #[serde(default)]
    #[schema(value_type = MessageBody)]
    message: Field<String>,
    /// The text, under its other name.
    #[serde(default)]
    #[schema(value_type = MessageBody)]
    content: Field<String>,
    /// The sender's idempotency key.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^[!-~]{1,64}$")]
    client_id: Field<String>,
    /// Files uploaded through upload slots of this room: their ids, or
    /// `{id, filename}` (at most 10).
    #[serde(default)]
    #[schema(value_type = Vec<attachments::AttachmentRef>)]
    attachments: Field<Value>,
}

/// What a send asks for.
#[derive(Debug)]
pub struct Draft {
    /// The text, if any.
    pub text: Option<MessageBody>,
    /// The idempotency key.
    pub client_id: Option<String>,
    /// The files it carries.
    pub files: Vec<attachments::Named>,
}

impl SendMessageRequest {
    /// The text, the idempotency key and the files.
    pub fn validate(self) -> Result<Draft> {
        let mut v = Validator::new();
        let files = self
            .attachments
            .optional(&mut v, "attachments")
            .and_then(|raw| v.check("attachments", attachments::parse_list(raw)))
            .unwrap_or_default();
        // The seed calls it `message`; `content` is accepted as an alias.
        let (name, text) = if self.message.is_present() || !self.content.is_present() {
            ("message", self.message)
        } else {
            ("content", self.content)
        };
        let text = if files.is_empty() || text.is_present() {
            text.required(&mut v, name)
                .and_then(|t| v.check(name, MessageBody::parse(&t)))
        } else {
            None
        };
        let client_id = self
            .client_id
            .optional(&mut v, "client_id")
            .and_then(|c| v.check("client_id", messages::parse_client_id(&c)));
        v.finish().map(|()| Draft {
            text,
            client_id,
            files,
        })
    }
}

pub async fn messages_send(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let draft = json_body::<SendMessageRequest>(req)?.validate()?;
    let sent =
        messages::send_with_files(ctx, &me, &room, draft.text, draft.client_id, &draft.files)
            .await?;
    created_or_ok(sent.created, &Message::sent(&sent.message, &me))
}

/// `POST /api/chat/rooms/{id}/attachments/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// The file's media type (one this deployment accepts).
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "image/png")]
    content_type: Field<String>,
    /// The file's size in bytes: the upload must have exactly this many.
    #[serde(default)]
    #[schema(value_type = u64, required = true, minimum = 1)]
    size: Field<String>,
}

impl UploadRequest {
    /// The type and size.
    pub fn validate(self, ctx: &Ctx) -> Result<(String, u64)> {
        let mut v = Validator::new();
        let content_type = self
            .content_type
            .required(&mut v, "content_type")
            .and_then(|raw| v.check("content_type", attachments::parse_content_type(ctx, &raw)));
        let size = self.size.required(&mut v, "size").and_then(|raw| {
            let size = raw
                .parse::<u64>()
                .map_err(|_| "A valid integer is required.".to_owned())
                .and_then(|n| attachments::check_size(ctx, n));
            v.check("size", size)
        });
        match (content_type, size) {
            (Some(content_type), Some(size)) => v.finish().map(|()| (content_type, size)),
            _ => Err(v.into_error()),
        }
    }
}

pub async fn attachment_create(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let (content_type, size) = json_body::<UploadRequest>(req)?.validate(ctx)?;
    let slot = attachments::create_slot(ctx, &me, &room, content_type, size).await?;
    created_or_ok(true, &UploadSlotView::from(&slot))
}

pub async fn attachment_get(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = message_param(req)?;
    let id = req.param("attachment_id").unwrap_or_default();
    let (attachment, url) = attachments::download(ctx, &me, &room, &message, id).await?;
    let info = AttachmentInfo {
        id: attachment.id,
        filename: attachment.filename,
        content_type: attachment.content_type,
        size: attachment.size,
    };
    ok(&AttachmentDownload {
        attachment: info,
        url,
    })
}

/// `PATCH /api/chat/rooms/{id}/messages/{message_id}/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditMessageRequest {
    /// The new text.
    #[serde(default)]
    #[schema(value_type = MessageBody, required = true)]
    message: Field<String>,
}

impl EditMessageRequest {
    /// The new text.
    pub fn validate(self) -> Result<MessageBody> {
        self.message
            .parse_required("message", |t| MessageBody::parse(&t))
    }
}

pub async fn message_edit(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = message_param(req)?;
    let text = json_body::<EditMessageRequest>(req)?.validate()?;
    let edited = messages::edit(ctx, &me, &room, &message, text).await?;
    ok(&Message::sent(&edited, &me))
}

pub async fn message_delete(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = message_param(req)?;
    messages::delete(ctx, &me, &room, &message).await?;
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}

/// `POST /api/chat/rooms/{id}/messages/{message_id}/reactions/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactionRequest {
    /// The emoji to react with.
    #[serde(default)]
    #[schema(value_type = Emoji, required = true)]
    emoji: Field<String>,
}

impl ReactionRequest {
    /// The emoji.
    pub fn validate(self) -> Result<Emoji> {
        self.emoji.parse_required("emoji", |raw| Emoji::parse(&raw))
    }
}

/// The query of `DELETE /api/chat/rooms/{id}/messages/{message_id}/reactions/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReactionQuery {
    /// The emoji whose reaction to take back.
    #[serde(default)]
    #[param(value_type = Emoji, required = true)]
    emoji: Field<String>,
}

impl ReactionQuery {
    /// The emoji.
    pub fn validate(self) -> Result<Emoji> {
        ReactionRequest { emoji: self.emoji }.validate()
    }
}

pub async fn reaction_add(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = message_param(req)?;
    let emoji = json_body::<ReactionRequest>(req)?.validate()?;
    let reacted = messages::react(ctx, &me, &room, &message, emoji, true).await?;
    ok(&Message::sent(&reacted, &me))
}

pub async fn reaction_remove(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = message_param(req)?;
    let emoji = query_params::<ReactionQuery>(req)?.validate()?;
    let reacted = messages::react(ctx, &me, &room, &message, emoji, false).await?;
    ok(&Message::sent(&reacted, &me))
}

/// `POST /api/chat/rooms/{id}/read/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// The newest message read: everything up to it counts as read.
    #[serde(default)]
    #[schema(value_type = MessageId, required = true)]
    message_id: Field<String>,
}

impl ReadRequest {
    /// The message read up to.
    pub fn validate(self) -> Result<MessageId> {
        self.message_id.parse_required("message_id", |raw| {
            MessageId::parse(&raw).ok_or_else(|| "Not a message id.".to_owned())
        })
    }
}

pub async fn room_read(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let message = json_body::<ReadRequest>(req)?.validate()?;
    let unread = realtime::read(ctx, &me, &room, &message).await?;
    ok(&UnreadCount::of(room, unread))
}
