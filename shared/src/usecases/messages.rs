//! Sending messages and reading history.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::{Message, MessageBody, MessageId, RoomId, Timestamp, UserId};
use crate::ports::{Append, HistoryCursor, Receipts};
use crate::usecases::{profile, realtime, rooms};
use crate::{Ctx, Error, Result};

/// Messages per page when the client does not say.
pub const DEFAULT_PAGE: usize = 50;
/// Most messages per page.
pub const MAX_PAGE: usize = 100;
/// Longest client message id.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// How far a message got, from its sender's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Stored; not yet pushed to every other member.
    Sent,
    /// Pushed to (or read by) every other member.
    Delivered,
    /// Read by every other member.
    Read,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Read => "read",
        }
    }
}

/// The status of `message` given the room's members and watermarks.
pub fn status_of(message: &Message, members: &[UserId], receipts: &Receipts) -> Status {
    let others: Vec<&UserId> = members
        .iter()
        .filter(|m| **m != message.sender_id)
        .collect();
    if others.is_empty() {
        return Status::Sent;
    }
    let reached = |map: &std::collections::HashMap<UserId, MessageId>, user: &UserId| {
        map.get(user).is_some_and(|upto| *upto >= message.id)
    };
    if others.iter().all(|u| reached(&receipts.read, u)) {
        Status::Read
    } else if others
        .iter()
        .all(|u| reached(&receipts.delivered, u) || reached(&receipts.read, u))
    {
        Status::Delivered
    } else {
        Status::Sent
    }
}

/// One page of history, newest first.
#[derive(Debug)]
pub struct Page {
    /// The messages with their status.
    pub messages: Vec<(Message, Status)>,
    /// Where the next (older) page starts, if there is one.
    pub next: Option<String>,
}

/// A message and whether this call stored it (false for a retried client id).
#[derive(Debug)]
pub struct Sent {
    /// The message.
    pub message: Message,
    /// False when the client id had been used and the earlier message is returned.
    pub created: bool,
}

/// A page of a room's history for one of its members.
pub async fn history(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    before: Option<&str>,
    limit: usize,
) -> Result<Page> {
    let cursor = before
        .map(|raw| {
            decode_cursor(room, raw).ok_or_else(|| Error::field("before", "Invalid cursor."))
        })
        .transpose()?;
    rooms::room_for_member(ctx, caller, room).await?;
    let mut messages = ctx
        .messages
        .history(room, cursor.as_ref(), limit + 1)
        .await?;
    let next = if messages.len() > limit {
        messages.truncate(limit);
        messages.last().map(|m| encode_cursor(room, m))
    } else {
        None
    };
    let members = rooms::member_ids(ctx, room).await?;
    let receipts = ctx.receipts.receipts(room).await?;
    let messages = messages
        .into_iter()
        .map(|m| {
            let status = status_of(&m, &members, &receipts);
            (m, status)
        })
        .collect();
    Ok(Page { messages, next })
}

/// Sends a message as `caller`. With a `client_id`, a retry returns the
/// message stored the first time instead of storing another.
pub async fn send(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    body: MessageBody,
    client_id: Option<String>,
) -> Result<Sent> {
    rooms::room_for_member(ctx, caller, room).await?;
    let sender = profile::me(ctx, caller).await?;
    let now = ctx.clock.now();
    let message = Message {
        id: MessageId::from_trusted(ctx.ids.new_id_at(now)),
        room_id: room.clone(),
        sender_id: caller.clone(),
        sender_username: sender.username,
        body,
        created_at: now,
        client_id,
    };
    Ok(match ctx.messages.append(&message).await? {
        Append::Stored => {
            realtime::fan_out_message(ctx, &message).await;
            Sent {
                message,
                created: true,
            }
        }
        Append::Duplicate(existing) => Sent {
            message: *existing,
            created: false,
        },
    })
}

/// Checks a client message id: 1-64 printable ASCII characters.
pub fn parse_client_id(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.len() > MAX_CLIENT_ID_LEN || !raw.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "Must be 1-{MAX_CLIENT_ID_LEN} printable ASCII characters."
        ));
    }
    Ok(raw.to_owned())
}

/// An opaque cursor after `message`, bound to its room.
pub fn encode_cursor(room: &RoomId, message: &Message) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "v1|{room}|{}|{}",
        message.created_at.millis(),
        message.id
    ))
}

/// Reads a cursor, refusing one made for another room or tampered with.
pub fn decode_cursor(room: &RoomId, raw: &str) -> Option<HistoryCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('|');
    let (Some("v1"), Some(cursor_room), Some(millis), Some(id), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if cursor_room != room.as_str() {
        return None;
    }
    Some(HistoryCursor {
        created_at: Timestamp::from_millis(millis.parse().ok()?),
        id: MessageId::parse(id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Username;

    #[test]
    fn cursors_round_trip_and_stay_in_their_room() {
        let room = RoomId::from_trusted("R1".into());
        let other = RoomId::from_trusted("R2".into());
        let message = Message {
            id: MessageId::from_trusted("M1".into()),
            room_id: room.clone(),
            sender_id: UserId::from_trusted("U".into()),
            sender_username: Username::from_trusted("u".into()),
            body: MessageBody::from_trusted("hi".into()),
            created_at: Timestamp::from_millis(42),
            client_id: None,
        };
        let cursor = encode_cursor(&room, &message);
        assert_eq!(
            decode_cursor(&room, &cursor),
            Some(HistoryCursor {
                created_at: Timestamp::from_millis(42),
                id: message.id.clone()
            })
        );
        assert!(decode_cursor(&other, &cursor).is_none());
        assert!(decode_cursor(&room, "garbage!").is_none());
        assert!(decode_cursor(&room, &URL_SAFE_NO_PAD.encode("v1|R1|x|M1")).is_none());
    }
}
