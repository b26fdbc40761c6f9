//! What a client sends over a WebSocket: one [`ClientFrame`] enum, tagged by
//! `action` on the wire.
//!
//! | frame | effect |
//! |---|---|
//! | `{"message": "hi"}` | the seed's send, to the socket's room |
//! | `{"action": "send", "message": "hi", "room_id"?, "client_id"?}` | send; `room_id` is required on a per-user socket; a repeated `client_id` stores and sends nothing again |
//! | `{"action": "typing", "room_id"?, "is_typing"?: true}` | typing indicator to the room's other members |
//! | `{"action": "read", "room_id"?, "message_id"}` | read receipt up to that message |
//! | `{"action": "sync", "room_id"?, "after_seq", "after_change"?}` | the room's messages after `after_seq` as `message` events, oldest first; with `after_change`, then the messages edited or deleted since as `message_updated` / `message_deleted`; then a `synced` event |
//! | `{"action": "ping"}` | answered with `{"type": "pong"}` |
//!
//! A frame without `action` is a send (the seed's frames have none); `type`
//! is accepted in its place.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{MessageBody, MessageId, RoomId};
use crate::error::Validator;
use crate::fields::Field;
use crate::usecases::{attachments, messages};
use crate::{Error, Result};

/// The actions a frame may name.
const ACTIONS: &str = "send, typing, read, sync, ping";

/// A frame a client sent.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ClientFrame {
    /// Send a message.
    #[serde(alias = "message")]
    Send(SendFrame),
    /// Start or stop typing.
    Typing(TypingFrame),
    /// Read up to a message.
    Read(ReadFrame),
    /// Catch up on a room.
    Sync(SyncFrame),
    /// Keep-alive; answered with `pong`.
    Ping,
}

/// `send`: a message to the socket's room or the named one.
#[derive(Debug, Deserialize)]
pub struct SendFrame {
    /// The room (required on a per-user socket).
    #[serde(default)]
    pub room_id: Field<Value>,
    /// The text (the seed's name).
    #[serde(default)]
    pub message: Field<Value>,
    /// The text, under its other name.
    #[serde(default)]
    pub content: Field<Value>,
    /// The sender's idempotency key.
    #[serde(default)]
    pub client_id: Field<Value>,
    /// Uploads to carry: ids or `{id, filename}`.
    #[serde(default)]
    pub attachments: Field<Value>,
}

/// `typing`.
#[derive(Debug, Deserialize)]
pub struct TypingFrame {
    /// The room (required on a per-user socket).
    #[serde(default)]
    pub room_id: Field<Value>,
    /// Whether the user is typing (anything but `false` counts as typing).
    #[serde(default)]
    pub is_typing: Field<Value>,
}

/// `read`.
#[derive(Debug, Deserialize)]
pub struct ReadFrame {
    /// The room (required on a per-user socket).
    #[serde(default)]
    pub room_id: Field<Value>,
    /// The newest message read.
    #[serde(default)]
    pub message_id: Field<Value>,
}

/// `sync`.
#[derive(Debug, Deserialize)]
pub struct SyncFrame {
    /// The room (required on a per-user socket).
    #[serde(default)]
    pub room_id: Field<Value>,
    /// The last `seq` the client has.
    #[serde(default)]
    pub after_seq: Field<Value>,
    /// The last change number the client has (edits and deletions); absent,
    /// no changes are sent.
    #[serde(default)]
    pub after_change: Field<Value>,
}

/// A parsed send: its validated content.
#[derive(Debug)]
pub struct Send {
    /// The text (none when files are attached and no text was given).
    pub body: Option<MessageBody>,
    /// The idempotency key.
    pub client_id: Option<String>,
    /// The uploads it names.
    pub files: Vec<attachments::Named>,
}

impl ClientFrame {
    /// Reads a frame from a JSON object. The action is read first (so that an
    /// unknown one gets its own message), then the variant's fields.
    pub fn from_object(mut frame: Map<String, Value>) -> Result<Self> {
        let action = match frame.get("action").or_else(|| frame.get("type")) {
            None => "send".to_owned(),
            Some(Value::String(a)) => a.clone(),
            Some(_) => return Err(Error::field("action", "Not a valid string.")),
        };
        if !matches!(
            action.as_str(),
            "send" | "message" | "typing" | "read" | "sync" | "ping"
        ) {
            return Err(Error::field(
                "action",
                format!("Unknown action \"{action}\" ({ACTIONS})."),
            ));
        }
        frame.insert("action".into(), Value::String(action));
        // Every field is a `Field`, which accepts any value: only a bug can fail here.
        serde_json::from_value(Value::Object(frame))
            .map_err(|e| Error::BadRequest(format!("Invalid frame - {e}")))
    }
}

/// A text field of a frame: strings only, null as absent.
fn text(field: &Field<Value>, v: &mut Validator, name: &str) -> Option<String> {
    match field {
        Field::Given(Value::String(s)) => Some(s.clone()),
        Field::Given(_) => {
            v.add(name, "Not a valid string.");
            None
        }
        _ => None,
    }
}

/// The room a frame names, if it names one. An id of impossible shape is a
/// room that does not exist.
fn named_room(field: &Field<Value>) -> Result<Option<RoomId>> {
    let mut v = Validator::new();
    let raw = text(field, &mut v, "room_id");
    v.finish()?;
    raw.map(|raw| RoomId::parse(&raw).ok_or_else(Error::room_not_found))
        .transpose()
}

impl ClientFrame {
    /// The room the frame names, if any (a `ping` names none).
    pub fn named_room(&self) -> Result<Option<RoomId>> {
        match self {
            ClientFrame::Send(f) => named_room(&f.room_id),
            ClientFrame::Typing(f) => named_room(&f.room_id),
            ClientFrame::Read(f) => named_room(&f.room_id),
            ClientFrame::Sync(f) => named_room(&f.room_id),
            ClientFrame::Ping => Ok(None),
        }
    }
}

impl SendFrame {
    /// The text and idempotency key, or every problem with them.
    pub fn validate(self) -> Result<Send> {
        let mut v = Validator::new();
        let files = self
            .attachments
            .optional(&mut v, "attachments")
            .and_then(|raw| v.check("attachments", attachments::parse_list(raw)))
            .unwrap_or_default();
        let body = match self.message {
            Field::Missing => self.content,
            given => given,
        };
        let body = match body {
            Field::Missing if !files.is_empty() => None,
            Field::Missing => {
                v.add("message", crate::fields::REQUIRED);
                None
            }
            Field::Given(Value::String(t)) => v.check("message", MessageBody::parse(&t)),
            _ => {
                v.add("message", "Not a valid string.");
                None
            }
        };
        let client_id = text(&self.client_id, &mut v, "client_id")
            .and_then(|c| v.check("client_id", messages::parse_client_id(&c)));
        v.finish()?;
        if body.is_none() && files.is_empty() {
            return Err(Error::field("message", crate::fields::REQUIRED));
        }
        Ok(Send {
            body,
            client_id,
            files,
        })
    }
}

impl TypingFrame {
    /// Whether the user is typing: anything but `false` counts as yes.
    pub fn is_typing(&self) -> bool {
        !matches!(self.is_typing, Field::Given(Value::Bool(false)))
    }
}

impl ReadFrame {
    /// The message read up to.
    pub fn message_id(&self) -> Result<MessageId> {
        match &self.message_id {
            Field::Given(Value::String(raw)) => MessageId::parse(raw),
            _ => None,
        }
        .ok_or_else(|| Error::field("message_id", "A message id is required."))
    }
}

impl SyncFrame {
    /// The last `seq` the client has: a non-negative integer (or its digits as text).
    pub fn after_seq(&self) -> Result<u64> {
        let value = match &self.after_seq {
            Field::Given(Value::Number(n)) => n.as_u64(),
            Field::Given(Value::String(s)) => messages::parse_seq(s),
            _ => None,
        };
        value.ok_or_else(|| {
            Error::field(
                "after_seq",
                "A non-negative integer is required (the last seq you have; 0 for none).",
            )
        })
    }

    /// The last change number the client has, when it asks for changes.
    pub fn after_change(&self) -> Result<Option<u64>> {
        let value = match &self.after_change {
            Field::Missing | Field::Given(Value::Null) => return Ok(None),
            Field::Given(Value::Number(n)) => n.as_u64(),
            Field::Given(Value::String(s)) => messages::parse_seq(s),
            _ => None,
        };
        value.map(Some).ok_or_else(|| {
            Error::field(
                "after_change",
                "A non-negative integer is required (the last change you have; 0 for none).",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Result<ClientFrame> {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => ClientFrame::from_object(map),
            _ => Err(Error::BadRequest("not an object".into())),
        }
    }

    #[test]
    fn frames_parse_by_action_with_the_seed_frame_as_send() -> Result<()> {
        assert!(matches!(
            frame(r#"{"message": "hi"}"#)?,
            ClientFrame::Send(_)
        ));
        assert!(matches!(frame(r#"{"type": "ping"}"#)?, ClientFrame::Ping));
        assert!(matches!(
            frame(r#"{"action": "typing", "is_typing": false}"#)?,
            ClientFrame::Typing(t) if !t.is_typing()
        ));
        let Err(Error::Validation(fields)) = frame(r#"{"action": "dance"}"#) else {
            panic!("an unknown action is a field error");
        };
        assert!(fields["action"][0].contains("dance"));
        let ClientFrame::Send(send) = frame(r#"{"message": 5, "client_id": 7}"#)? else {
            panic!("a send");
        };
        let Err(Error::Validation(fields)) = send.validate() else {
            panic!("non-string text and key are invalid");
        };
        assert!(fields.contains_key("message") && fields.contains_key("client_id"));
        for (json, expected) in [
            (r#"{"action": "sync", "after_seq": 7}"#, Some(7)),
            (r#"{"action": "sync", "after_seq": "7"}"#, Some(7)),
            (r#"{"action": "sync", "after_seq": -1}"#, None),
            (r#"{"action": "sync", "after_seq": 1.5}"#, None),
            (r#"{"action": "sync", "after_seq": "x"}"#, None),
            (r#"{"action": "sync"}"#, None),
        ] {
            let ClientFrame::Sync(sync) = frame(json)? else {
                panic!("a sync: {json}");
            };
            assert_eq!(sync.after_seq().ok(), expected, "{json}");
        }
        Ok(())
    }
}
