//! What the server pushes over WebSockets: one [`ServerEvent`] enum, tagged by
//! `type` on the wire. The README's event table describes the same shapes.

use serde::Serialize;

use crate::domain::{
    Emoji, Message, MessageBody, MessageId, RoomId, Timestamp, User, UserId, Username,
};
use crate::error::{Error, FieldErrors};

/// An event pushed to a connection.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerEvent {
    /// A new message, to every connection of every member of its room.
    Message(MessageEvent),
    /// A message was edited or reacted to: it as it is now, to every
    /// member's connections.
    #[serde(rename = "message_updated")]
    MessageUpdated(MessageEvent),
    /// A message was deleted: it keeps its place (`seq`) without its text.
    #[serde(rename = "message_deleted")]
    MessageDeleted {
        /// Where.
        room_id: RoomId,
        /// The deleted message.
        message_id: MessageId,
        /// Its place in the room.
        seq: u64,
        /// The room's change number of the deletion.
        change: u64,
    },
    /// A user came online (first connection) or went offline (last one closed).
    Presence {
        /// Who.
        user_id: UserId,
        /// Their username.
        username: Username,
        /// Online or offline.
        status: PresenceStatus,
        /// When they went offline (null when coming online).
        last_seen: Option<Timestamp>,
    },
    /// A member started or stopped typing.
    Typing {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// Their username.
        username: Username,
        /// Whether they are typing now.
        is_typing: bool,
    },
    /// Messages up to `message_id` reached, or were read by, these users.
    Receipt {
        /// Where.
        room_id: RoomId,
        /// The watermark.
        message_id: MessageId,
        /// The watermark's `seq`: every message up to it.
        seq: u64,
        /// Delivered or read.
        status: ReceiptStatus,
        /// Who.
        user_ids: Vec<UserId>,
    },
    /// The caller's unread count of a room changed (they read on another
    /// device): to their own connections.
    Unread {
        /// Where.
        room_id: RoomId,
        /// Messages after their read mark.
        unread_count: u64,
    },
    /// The end of a `sync`: the `message` events before it brought the
    /// connection up to `last_seq`. With `has_more`, the room has more
    /// (sync again from `last_seq`); without, later messages arrive live.
    Synced {
        /// Where.
        room_id: RoomId,
        /// The newest `seq` the connection now has.
        last_seq: u64,
        /// Whether more messages follow `last_seq` already.
        has_more: bool,
        /// The newest change number the connection now has, when it asked
        /// for changes (`after_change`).
        #[serde(skip_serializing_if = "Option::is_none")]
        last_change: Option<u64>,
    },
    /// The answer to a `ping` frame.
    Pong,
    /// A frame could not be served; the socket stays usable.
    Error(ErrorEvent),
}

/// The `message` event. Carries the seed's `message`, `sender` (the
/// username) and `timestamp`, plus ids.
#[derive(Debug, Clone, Serialize)]
pub struct MessageEvent {
    /// The message's id.
    pub id: MessageId,
    /// Its room.
    pub room_id: RoomId,
    /// Its text.
    pub message: MessageBody,
    /// The sender's username.
    pub sender: Username,
    /// The sender's id.
    pub sender_id: UserId,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// The sender's idempotency key, if they gave one.
    pub client_id: Option<String>,
    /// Its place in the room (1, 2, 3, …): a client that sees a gap missed
    /// messages and syncs.
    pub seq: u64,
    /// When its sender last edited it (absent if never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// The room's change number of its latest edit or reaction (absent if
    /// never).
    #[serde(skip_serializing_if = "is_zero")]
    pub change: u64,
    /// Its reactions as the recipient sees them (absent if none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionCount>,
    /// The files it carries (absent if none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInfo>,
    /// On the sender's own connections only: the members it had reached when
    /// it was echoed to them (absent if none). It stands for the `receipt`
    /// with status `delivered` the sender would otherwise get next: one frame
    /// instead of two.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivered_to: Vec<UserId>,
}

/// A file a message carries; members get its bytes through
/// `GET /api/chat/rooms/{id}/messages/{message_id}/attachments/{attachment_id}/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AttachmentInfo {
    /// Its id.
    pub id: String,
    /// The name the sender gave it.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
}

impl AttachmentInfo {
    /// The files of `m` (none once it is deleted).
    pub fn of(m: &Message) -> Vec<Self> {
        if m.is_deleted() {
            return Vec::new();
        }
        m.attachments
            .iter()
            .map(|a| Self {
                id: a.id.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
            })
            .collect()
    }
}

/// One emoji on a message: how many reacted with it and whether the one
/// who reads did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: Emoji,
    /// How many members reacted with it (at least 1).
    pub count: usize,
    /// Whether the caller did.
    pub me: bool,
}

impl ReactionCount {
    /// The reactions of `m` as `viewer` sees them.
    pub fn of(m: &Message, viewer: Option<&UserId>) -> Vec<Self> {
        m.reactions
            .iter()
            .map(|r| Self {
                emoji: r.emoji.clone(),
                count: r.user_ids.len(),
                me: viewer.is_some_and(|v| r.user_ids.contains(v)),
            })
            .collect()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MessageEvent {
    /// The event's form of a stored message, for `viewer`'s connections
    /// (`None`: the message has no reactions yet).
    pub fn seen_by(m: &Message, viewer: Option<&UserId>) -> Self {
        Self {
            id: m.id.clone(),
            room_id: m.room_id.clone(),
            message: m.body.clone(),
            sender: m.sender_username.clone(),
            sender_id: m.sender_id.clone(),
            timestamp: m.created_at,
            client_id: m.client_id.clone(),
            seq: m.seq,
            edited_at: m.edited_at,
            change: m.change,
            reactions: ReactionCount::of(m, viewer),
            attachments: AttachmentInfo::of(m),
            delivered_to: Vec::new(),
        }
    }
}

/// Whether a user is online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    /// At least one live connection.
    Online,
    /// No live connection.
    Offline,
}

/// How far messages got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// Pushed to the users' connections.
    Delivered,
    /// Read by the users.
    Read,
}

/// The `error` event: `code` and `detail`, or the invalid `fields`; the
/// status the same error has over REST; the frame's `client_id`, echoed.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEvent {
    /// Machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub detail: String,
    /// The invalid fields of the frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
    /// The HTTP status of the same error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `client_id` of the frame that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<serde_json::Value>,
}

impl ServerEvent {
    /// The event for a stored message, for `viewer`'s connections.
    pub fn message(m: &Message, viewer: Option<&UserId>) -> Self {
        ServerEvent::Message(MessageEvent::seen_by(m, viewer))
    }

    /// The event for a stored message on its sender's connections, saying
    /// whom it reached (`delivered_to`).
    pub fn echo(m: &Message, delivered_to: Vec<UserId>) -> Self {
        ServerEvent::Message(MessageEvent {
            delivered_to,
            ..MessageEvent::seen_by(m, Some(&m.sender_id))
        })
    }

    /// The event for a changed message, for `viewer`'s connections:
    /// `message_deleted` for a deleted one, else `message_updated` with it
    /// as it is now.
    pub fn changed(m: &Message, viewer: Option<&UserId>) -> Self {
        if m.is_deleted() {
            ServerEvent::MessageDeleted {
                room_id: m.room_id.clone(),
                message_id: m.id.clone(),
                seq: m.seq,
                change: m.change,
            }
        } else {
            ServerEvent::MessageUpdated(MessageEvent::seen_by(m, viewer))
        }
    }

    /// The event for `user` coming online or going offline.
    pub fn presence(user: &User, online: bool, last_seen: Option<Timestamp>) -> Self {
        ServerEvent::Presence {
            user_id: user.id.clone(),
            username: user.username.clone(),
            status: if online {
                PresenceStatus::Online
            } else {
                PresenceStatus::Offline
            },
            last_seen,
        }
    }

    /// An error about the frame itself (too large, not JSON...), before any
    /// use-case ran.
    pub fn frame_error(code: &str, detail: &str) -> Self {
        ServerEvent::Error(ErrorEvent {
            code: code.to_owned(),
            detail: detail.to_owned(),
            fields: None,
            status: None,
            client_id: None,
        })
    }

    /// The WebSocket rendering of a use-case error ([`Error::problem`]),
    /// echoing the failed frame's `client_id`. Infrastructure causes are
    /// logged here, never sent.
    pub fn from_error(error: Error, client_id: Option<serde_json::Value>) -> Self {
        error.log_cause();
        let problem = error.problem();
        let (code, detail) = match problem.fields {
            Some(_) => ("invalid".to_owned(), "Invalid frame.".to_owned()),
            None => (problem.code.to_owned(), problem.detail.into_owned()),
        };
        ServerEvent::Error(ErrorEvent {
            code,
            detail,
            fields: problem.fields.cloned(),
            status: Some(problem.status.as_u16()),
            client_id,
        })
    }

    /// The event as the JSON text sent in a frame.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every field is a string,
        // number, bool, list or map with string keys.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"type":"error"}"#))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_type() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::to_value(ServerEvent::Pong)?,
            serde_json::json!({ "type": "pong" })
        );
        let receipt = ServerEvent::Receipt {
            room_id: RoomId::from_trusted("R".into()),
            message_id: MessageId::from_trusted("M".into()),
            seq: 3,
            status: ReceiptStatus::Read,
            user_ids: vec![UserId::from_trusted("U".into())],
        };
        assert_eq!(
            serde_json::to_value(receipt)?,
            serde_json::json!({
                "type": "receipt", "room_id": "R", "message_id": "M", "seq": 3,
                "status": "read", "user_ids": ["U"]
            })
        );
        let synced = ServerEvent::Synced {
            room_id: RoomId::from_trusted("R".into()),
            last_seq: 9,
            has_more: false,
            last_change: None,
        };
        assert_eq!(
            serde_json::to_value(synced)?,
            serde_json::json!({ "type": "synced", "room_id": "R", "last_seq": 9, "has_more": false })
        );
        let error = ServerEvent::from_error(Error::field("message", "Required."), None);
        let value = serde_json::to_value(error)?;
        assert_eq!(value["type"], "error");
        assert_eq!(value["code"], "invalid");
        assert_eq!(value["status"], 400);
        assert_eq!(value["fields"]["message"][0], "Required.");
        Ok(())
    }
}
