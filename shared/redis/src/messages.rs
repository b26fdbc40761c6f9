//! Messages by seq. The room's counter is bumped, the message stored, its
//! id and client id recorded, the room's last message set and the message
//! published to every gateway process in one script, so seqs are contiguous
//! and in commit order, and no message is stored without being published.

use async_trait::async_trait;
use chat_core::domain::{Message, MessageId, MessagePreview, RoomId};
use chat_core::ports::{Append, ChangeMessage, MessageChange, MessageStore};
use chat_core::{Error, Result};

/// Tries at a change before answering "busy" (each lost a race).
const CHANGE_ATTEMPTS: u32 = 20;

use crate::{from_json, scripts, to_json, RedisStore};

impl RedisStore {
    /// The messages with these seqs, in the order given (all must exist).
    async fn messages_at(&self, room: &RoomId, seqs: &[u64]) -> Result<Vec<Message>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut hmget = redis::cmd("HMGET");
        hmget.arg(self.keys.room(room, "msgs"));
        for seq in seqs {
            hmget.arg(seq);
        }
        let found: Vec<Option<String>> = self.query("HMGET", &hmget).await?;
        seqs.iter()
            .zip(found)
            .map(|(seq, raw)| {
                let raw = raw.ok_or_else(|| {
                    Error::internal(format!("message {seq} of room {room} is missing"))
                })?;
                let message: Message = from_json(&raw)?;
                Ok(Message {
                    seq: *seq,
                    ..message
                })
            })
            .collect()
    }

    /// The seq of a message of the room, by its id.
    async fn seq_of(&self, room: &RoomId, id: &MessageId) -> Result<Option<u64>> {
        self.query(
            "HGET",
            redis::cmd("HGET")
                .arg(self.keys.room(room, "ids"))
                .arg(id.as_str()),
        )
        .await
    }

    async fn last_seq(&self, room: &RoomId) -> Result<u64> {
        let last: Option<u64> = self
            .query(
                "HGET",
                redis::cmd("HGET")
                    .arg(self.keys.room(room, "counters"))
                    .arg("last_seq"),
            )
            .await?;
        Ok(last.unwrap_or(0))
    }
}

#[async_trait]
impl MessageStore for RedisStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        let room = &message.room_id;
        let client_key = message
            .client_id
            .as_ref()
            .map(|c| format!("{}#{c}", message.sender_id))
            .unwrap_or_default();
        let (outcome, seq): (i64, u64) = self
            .script(
                "append message",
                scripts::APPEND
                    .key(self.keys.room(room, "meta"))
                    .key(self.keys.room(room, "counters"))
                    .key(self.keys.room(room, "msgs"))
                    .key(self.keys.room(room, "ids"))
                    .key(self.keys.room(room, "clients"))
                    .key(self.keys.room(room, "last"))
                    .arg(to_json(&Message {
                        seq: 0,
                        ..message.clone()
                    })?)
                    .arg(message.id.as_str())
                    .arg(&client_key)
                    .arg(to_json(&message.preview())?)
                    .arg(self.keys.messages_channel()),
            )
            .await?;
        match outcome {
            1 => Ok(Append::Stored {
                seq,
                id: message.id.clone(),
            }),
            0 => {
                let earlier = self.messages_at(room, &[seq]).await?;
                let earlier = earlier
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::internal("client id without its message"))?;
                Ok(Append::Duplicate(Box::new(earlier)))
            }
            _ => Err(Error::room_not_found()),
        }
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        match self.seq_of(room, id).await? {
            Some(seq) => Ok(self.messages_at(room, &[seq]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let last = self.last_seq(room).await?;
        let top = match before {
            Some(before) => before.saturating_sub(1).min(last),
            None => last,
        };
        let count = u64::try_from(limit).unwrap_or(u64::MAX).min(top);
        let seqs: Vec<u64> = (0..count).map(|i| top - i).collect();
        self.messages_at(room, &seqs).await
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let last = self.last_seq(room).await?;
        if after >= last {
            return Ok(Vec::new());
        }
        let count = u64::try_from(limit).unwrap_or(u64::MAX).min(last - after);
        let seqs: Vec<u64> = (1..=count).map(|i| after + i).collect();
        self.messages_at(room, &seqs).await
    }

    async fn change_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        change: &MessageChange,
    ) -> Result<ChangeMessage> {
        for _ in 0..CHANGE_ATTEMPTS {
            let Some(seq) = self.seq_of(room, id).await? else {
                return Ok(ChangeMessage::NotFound);
            };
            let mut read = redis::pipe();
            read.cmd("HGET")
                .arg(self.keys.room(room, "msgs"))
                .arg(seq)
                .cmd("HGET")
                .arg(self.keys.room(room, "counters"))
                .arg("last_change")
                .cmd("GET")
                .arg(self.keys.room(room, "last"));
            let (raw, last_change, preview): (Option<String>, Option<u64>, Option<String>) =
                self.pipe("read a message to change", &read).await?;
            let Some(raw) = raw else {
                return Ok(ChangeMessage::NotFound);
            };
            let current = Message {
                seq,
                ..from_json::<Message>(&raw)?
            };
            let last_change = last_change.unwrap_or(0);
            let changed = match change.apply(&current, last_change + 1) {
                Ok(changed) => changed,
                Err(refused) => return Ok(refused),
            };
            let stored = Message {
                seq: 0,
                ..changed.clone()
            };
            let is_last = preview
                .as_deref()
                .and_then(|p| from_json::<MessagePreview>(p).ok())
                .is_some_and(|p| p.id == changed.id);
            let new_preview = if is_last {
                to_json(&stored.preview())?
            } else {
                String::new()
            };
            let done: i64 = self
                .script(
                    "change message",
                    scripts::CHANGE_MESSAGE
                        .key(self.keys.room(room, "counters"))
                        .key(self.keys.room(room, "msgs"))
                        .key(self.keys.room(room, "changes"))
                        .key(self.keys.room(room, "last"))
                        .arg(seq)
                        .arg(&raw)
                        .arg(to_json(&stored)?)
                        .arg(last_change)
                        .arg(last_change + 1)
                        .arg(&new_preview)
                        .arg(preview.unwrap_or_default()),
                )
                .await?;
            if done == 1 {
                return Ok(ChangeMessage::Changed(Box::new(changed)));
            }
        }
        Err(Error::unavailable(
            "the room's messages kept changing; try again",
        ))
    }

    async fn changes_after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let seqs: Vec<u64> = self
            .query(
                "ZRANGEBYSCORE",
                redis::cmd("ZRANGEBYSCORE")
                    .arg(self.keys.room(room, "changes"))
                    .arg(format!("({after}"))
                    .arg("+inf")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        self.messages_at(room, &seqs).await
    }
}
