//! Messages and client-id claims.

use async_trait::async_trait;

use crate::domain::{Message, MessageId, RoomId};
use crate::ports::{Append, HistoryCursor, MessageStore};
use crate::{Error, Result};

use super::MemoryStore;

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        let mut s = self.lock()?;
        if let Some(client_id) = &message.client_id {
            let key = (
                message.room_id.clone(),
                message.sender_id.clone(),
                client_id.clone(),
            );
            if let Some(existing_key) = s.client_ids.get(&key) {
                let existing = s
                    .messages
                    .get(&message.room_id)
                    .and_then(|m| m.get(existing_key))
                    .cloned()
                    .ok_or_else(|| Error::internal("client id without message"))?;
                return Ok(Append::Duplicate(Box::new(existing)));
            }
            s.client_ids
                .insert(key, (message.created_at, message.id.clone()));
        }
        let Some(room) = s.rooms.get_mut(&message.room_id) else {
            return Err(Error::room_not_found());
        };
        let newer = room
            .last_message
            .as_ref()
            .is_none_or(|last| (last.created_at, &last.id) < (message.created_at, &message.id));
        if newer {
            room.last_message = Some(message.preview());
        }
        s.messages
            .entry(message.room_id.clone())
            .or_default()
            .insert((message.created_at, message.id.clone()), message.clone());
        Ok(Append::Stored)
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        Ok(self
            .lock()?
            .messages
            .get(room)
            .and_then(|m| m.values().find(|m| &m.id == id))
            .cloned())
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<&HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let s = self.lock()?;
        let Some(messages) = s.messages.get(room) else {
            return Ok(Vec::new());
        };
        let page = match before {
            Some(cursor) => messages
                .range(..(cursor.created_at, cursor.id.clone()))
                .rev()
                .take(limit)
                .map(|(_, m)| m.clone())
                .collect(),
            None => messages.values().rev().take(limit).cloned().collect(),
        };
        Ok(page)
    }
}
