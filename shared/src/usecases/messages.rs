//! Sending messages and reading history.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::{
    Emoji, Member, Message, MessageBody, MessageId, Role, Room, RoomId, UserId,
    MAX_REACTIONS_PER_MESSAGE,
};
use crate::ports::{Append, ChangeMessage, MessageChange, RateDecision, Receipts};
use crate::usecases::{attachments, profile, realtime, rooms};
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
    let reached = |map: &std::collections::HashMap<UserId, u64>, user: &UserId| {
        map.get(user).is_some_and(|upto| *upto >= message.seq)
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

/// One page of history: newest first, or oldest first for a catch-up.
#[derive(Debug)]
pub struct Page {
    /// The messages with their status.
    pub messages: Vec<(Message, Status)>,
    /// Where the next page starts, if there is one: the cursor to pass as
    /// `before`, or the `seq` to pass as `after_seq`.
    pub next: Option<String>,
}

/// Which messages of a room a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The newest, or those older than a `before` cursor (as sent).
    Before(Option<String>),
    /// Those after a `seq`, oldest first.
    After(u64),
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
    room_id: &RoomId,
    window: Window,
    limit: usize,
) -> Result<Page> {
    let (room, _) = rooms::room_for_member(ctx, caller, room_id).await?;
    let (mut messages, more) = match window {
        Window::Before(cursor) => {
            let before = match cursor {
                Some(raw) => Some(before_seq(ctx, room_id, &raw).await?),
                None => None,
            };
            let mut messages = ctx.messages.history(room_id, before, limit + 1).await?;
            let more = messages.len() > limit;
            messages.truncate(limit);
            let next = more.then(|| messages_cursor(room_id, &messages)).flatten();
            (messages, next)
        }
        Window::After(after) => {
            rooms::check_after_seq(ctx, &room, after).await?;
            let mut messages = ctx.messages.after(room_id, after, limit + 1).await?;
            let more = messages.len() > limit;
            messages.truncate(limit);
            let next = more
                .then(|| messages.last().map(|m| m.seq.to_string()))
                .flatten();
            (messages, next)
        }
    };
    let members = rooms::member_ids(ctx, room_id).await?;
    let receipts = ctx.receipts.receipts(room_id).await?;
    let page = messages
        .drain(..)
        .map(|m| {
            let status = status_of(&m, &members, &receipts);
            (m, status)
        })
        .collect();
    Ok(Page {
        messages: page,
        next: more,
    })
}

/// Reads a `seq` sent as text: digits only.
pub fn parse_seq(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn messages_cursor(room: &RoomId, page: &[Message]) -> Option<String> {
    page.last().map(|m| encode_cursor(room, m.seq))
}

/// The `seq` a `before` cursor stands for. Cursors of the first format
/// (time and id, before messages had a seq) are looked up by their id.
async fn before_seq(ctx: &Ctx, room: &RoomId, raw: &str) -> Result<u64> {
    let invalid = || Error::field("before", "Invalid cursor.");
    match decode_cursor(room, raw).ok_or_else(invalid)? {
        Cursor::Seq(seq) => Ok(seq),
        Cursor::Id(id) => Ok(ctx
            .messages
            .message(room, &id)
            .await?
            .ok_or_else(invalid)?
            .seq),
    }
}

/// Checks that `caller` may write to `room` (a member, with no block in a
/// direct room) and counts one `action` against `SEND_MAX_PER_MINUTE`,
/// each action in a window of its own per user and room. Returns the room
/// and its members, read together.
pub(crate) async fn writer_in(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    action: &str,
) -> Result<(Room, Vec<Member>)> {
    let (found, members) = rooms::room_with_members_for(ctx, caller, room).await?;
    rooms::check_may_write(ctx, caller, &found, &members).await?;
    let window = format!("{action}:{caller}:{room}");
    match ctx
        .limiter
        .hit(
            &window,
            60,
            ctx.settings.send_max_per_minute,
            ctx.clock.now(),
        )
        .await?
    {
        RateDecision::Limited { retry_after_secs } => Err(Error::RateLimited { retry_after_secs }),
        RateDecision::Allowed => Ok((found, members)),
    }
}

/// The ids of `members`.
fn ids(members: Vec<Member>) -> Vec<UserId> {
    members.into_iter().map(|m| m.user_id).collect()
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
    send_with_files(ctx, caller, room, Some(body), client_id, &[]).await
}

/// Sends a message carrying the uploads `files` names (see
/// [`attachments::take`]); the text may be left out when it carries files.
pub async fn send_with_files(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    body: Option<MessageBody>,
    client_id: Option<String>,
    files: &[attachments::Named],
) -> Result<Sent> {
    if body.is_none() && files.is_empty() {
        return Err(Error::field("message", "This field is required."));
    }
    let (found, members) = writer_in(ctx, caller, room, "send").await?;
    let now = ctx.clock.now();
    // The membership keeps the sender's username where the store does;
    // otherwise the profile has it.
    let kept = members
        .iter()
        .find(|m| m.user_id == *caller)
        .and_then(|m| m.username.clone());
    let sender_username = match kept {
        Some(username) => username,
        None => profile::me(ctx, caller).await?.username,
    };
    let members = ids(members);
    let attachments = attachments::take(ctx, caller, room, files).await?;
    let body = body.unwrap_or_else(|| MessageBody::from_trusted(String::new()));
    let message = Message {
        id: MessageId::from_trusted(ctx.ids.new_id_at(now)),
        room_id: room.clone(),
        sender_id: caller.clone(),
        sender_username,
        body,
        created_at: now,
        client_id,
        seq: 0,
        edited_at: None,
        deleted_at: None,
        change: 0,
        reactions: Vec::new(),
        attachments,
    };
    let (seq, id) = match ctx.messages.append_after(&message, found.last_seq).await? {
        Append::Stored { seq, id } => (seq, id),
        Append::Duplicate(existing) => {
            return Ok(Sent {
                message: *existing,
                created: false,
            })
        }
    };
    let message = Message { seq, id, ..message };
    if ctx.notifier.pushes_stored_messages() {
        // Whoever speaks has read the room.
        if let Err(e) = ctx.receipts.mark_read(room, caller, seq).await {
            tracing::warn!(error = %e, "marking the sender's own message read failed");
        }
    } else {
        // Pushes it, then records the sender's read mark with its deliveries.
        realtime::fan_out_message(ctx, &message, &members).await;
    }
    Ok(Sent {
        message,
        created: true,
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

/// Where a `before` cursor points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Older than this `seq`.
    Seq(u64),
    /// Older than this message (cursors made before messages had a seq).
    Id(MessageId),
}

/// An opaque cursor for the messages older than `seq`, bound to its room.
pub fn encode_cursor(room: &RoomId, seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v2|{room}|{seq}"))
}

/// Reads a cursor, refusing one made for another room or tampered with.
pub fn decode_cursor(room: &RoomId, raw: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let parts: Vec<&str> = text.split('|').collect();
    match parts[..] {
        ["v2", cursor_room, seq] if cursor_room == room.as_str() => parse_seq(seq).map(Cursor::Seq),
        ["v1", cursor_room, millis, id] if cursor_room == room.as_str() => {
            millis.parse::<i64>().ok()?;
            MessageId::parse(id).map(Cursor::Id)
        }
        _ => None,
    }
}

/// The sender edits their message: it keeps its place, shows `edited_at`,
/// and every member's connections get `message_updated`. Only the sender
/// may; a deleted message cannot be edited.
pub async fn edit(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    message: &MessageId,
    body: MessageBody,
) -> Result<Message> {
    let (_, members) = rooms::room_with_members_for(ctx, caller, room).await?;
    let change = MessageChange::Edit {
        body,
        by: caller.clone(),
        at: ctx.clock.now(),
    };
    let edited = changed(
        ctx.messages.change_message(room, message, &change).await?,
        || Error::forbidden("You can only edit your own messages."),
    )?;
    realtime::fan_out_change(ctx, &edited, &ids(members)).await;
    Ok(edited)
}

/// Deletes a message: its sender, or an admin of the room, may. The message
/// keeps its place and `seq` without its text, and every member's
/// connections get `message_deleted`. Deleting it again changes nothing.
pub async fn delete(ctx: &Ctx, caller: &UserId, room: &RoomId, message: &MessageId) -> Result<()> {
    let (_, members) = rooms::room_with_members_for(ctx, caller, room).await?;
    let is_admin = members
        .iter()
        .any(|m| m.user_id == *caller && m.role == Role::Admin);
    let by = (!is_admin).then(|| caller.clone());
    let change = MessageChange::Delete {
        by,
        at: ctx.clock.now(),
    };
    match ctx.messages.change_message(room, message, &change).await? {
        ChangeMessage::AlreadyDeleted => Ok(()),
        outcome => {
            let deleted = changed(outcome, || {
                Error::forbidden("Only the sender or an admin of the room can delete a message.")
            })?;
            realtime::fan_out_change(ctx, &deleted, &ids(members)).await;
            attachments::release(ctx, room, &deleted.sender_id, &deleted.attachments).await;
            Ok(())
        }
    }
}

/// A member adds (`add`) or takes back their reaction with `emoji`: one
/// per member per emoji, at most [`MAX_REACTIONS_PER_MESSAGE`] emojis per
/// message. A change takes the room's next change number, and every
/// member's connections get `message_updated` with the counts; reacting
/// again, or taking back what is not there, changes nothing. Counted
/// against the same per-minute limit as sending, in a window of its own.
pub async fn react(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    message: &MessageId,
    emoji: Emoji,
    add: bool,
) -> Result<Message> {
    let (_, members) = writer_in(ctx, caller, room, "react").await?;
    let change = MessageChange::React {
        emoji,
        by: caller.clone(),
        add,
    };
    match ctx.messages.change_message(room, message, &change).await? {
        ChangeMessage::Unchanged => ctx
            .messages
            .message(room, message)
            .await?
            .ok_or_else(Error::message_not_found),
        ChangeMessage::TooManyReactions => Err(Error::Conflict(format!(
            "This message has {MAX_REACTIONS_PER_MESSAGE} different reactions already."
        ))),
        outcome => {
            let reacted = changed(outcome, Error::message_not_found)?;
            realtime::fan_out_change(ctx, &reacted, &ids(members)).await;
            Ok(reacted)
        }
    }
}

/// The changed message, or the error its refusal is.
fn changed(outcome: ChangeMessage, not_sender: impl FnOnce() -> Error) -> Result<Message> {
    match outcome {
        ChangeMessage::Changed(message) => Ok(*message),
        ChangeMessage::NotSender => Err(not_sender()),
        ChangeMessage::NotFound | ChangeMessage::AlreadyDeleted => Err(Error::message_not_found()),
        ChangeMessage::Unchanged | ChangeMessage::TooManyReactions => Err(Error::internal(
            "an edit or deletion was refused as a reaction would be",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_stay_in_their_room() {
        let room = RoomId::from_trusted("R1".into());
        let other = RoomId::from_trusted("R2".into());
        let cursor = encode_cursor(&room, 42);
        assert_eq!(decode_cursor(&room, &cursor), Some(Cursor::Seq(42)));
        assert!(decode_cursor(&other, &cursor).is_none());
        assert!(decode_cursor(&room, "garbage!").is_none());
        assert!(decode_cursor(&room, &URL_SAFE_NO_PAD.encode("v2|R1|-3")).is_none());
        // Cursors handed out before messages had a seq still read.
        let old = URL_SAFE_NO_PAD.encode("v1|R1|42|M1");
        assert_eq!(
            decode_cursor(&room, &old),
            Some(Cursor::Id(MessageId::from_trusted("M1".into())))
        );
        assert!(decode_cursor(&room, &URL_SAFE_NO_PAD.encode("v1|R1|x|M1")).is_none());
    }

    #[test]
    fn seqs_are_digits_only() {
        assert_eq!(parse_seq("0"), Some(0));
        assert_eq!(parse_seq("17"), Some(17));
        for bad in ["", "-1", "+1", "1.0", " 1", "x", "99999999999999999999999"] {
            assert_eq!(parse_seq(bad), None, "{bad}");
        }
    }
}
