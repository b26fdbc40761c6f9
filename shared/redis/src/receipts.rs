//! Delivery and read watermarks: one hash per room, raised by a script.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_core::domain::{RoomId, UserId};
use chat_core::ports::{ReceiptStore, Receipts};
use chat_core::Result;

use crate::{scripts, RedisStore};

impl RedisStore {
    async fn raise(&self, room: &RoomId, fields: &[String], upto: u64) -> Result<i64> {
        if fields.is_empty() {
            return Ok(0);
        }
        let mut invocation = scripts::RAISE.prepare_invoke();
        invocation.key(self.keys.room(room, "receipts")).arg(upto);
        for field in fields {
            invocation.arg(field);
        }
        self.script("raise watermarks", &invocation).await
    }
}

#[async_trait]
impl ReceiptStore for RedisStore {
    async fn mark_delivered(&self, room: &RoomId, users: &[UserId], upto: u64) -> Result<()> {
        let fields: Vec<String> = users.iter().map(|u| format!("d#{u}")).collect();
        self.raise(room, &fields, upto).await.map(|_| ())
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, upto: u64) -> Result<bool> {
        let read_moved = self.raise(room, &[format!("r#{user}")], upto).await? > 0;
        if read_moved {
            self.raise(room, &[format!("d#{user}")], upto).await?;
        }
        Ok(read_moved)
    }

    async fn receipts(&self, room: &RoomId) -> Result<Receipts> {
        let all: HashMap<String, u64> = self
            .query(
                "HGETALL",
                redis::cmd("HGETALL").arg(self.keys.room(room, "receipts")),
            )
            .await?;
        let mut receipts = Receipts::default();
        for (field, seq) in all {
            if let Some(user) = field.strip_prefix("d#") {
                receipts
                    .delivered
                    .insert(UserId::from_trusted(user.to_owned()), seq);
            } else if let Some(user) = field.strip_prefix("r#") {
                receipts
                    .read
                    .insert(UserId::from_trusted(user.to_owned()), seq);
            }
        }
        Ok(receipts)
    }

    async fn read_marks(&self, user: &UserId, rooms: &[RoomId]) -> Result<HashMap<RoomId, u64>> {
        if rooms.is_empty() {
            return Ok(HashMap::new());
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.cmd("HGET")
                .arg(self.keys.room(room, "receipts"))
                .arg(format!("r#{user}"));
        }
        let marks: Vec<Option<u64>> = self.pipe("read marks", &pipe).await?;
        Ok(rooms
            .iter()
            .cloned()
            .zip(marks.into_iter().map(Option::unwrap_or_default))
            .collect())
    }
}
