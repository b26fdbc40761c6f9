//! Messages by `seq`, and client-id claims.

use async_trait::async_trait;

use crate::domain::{Message, MessageId, RoomId};
use crate::ports::{Append, ChangeMessage, MessageChange, MessageStore};
use crate::{Error, Result};

use super::MemoryStore;

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        self.write(|| {
            let mut s = self.lock()?;
            let room_id = &message.room_id;
            let claim = message
                .client_id
                .as_ref()
                .map(|c| (room_id.clone(), message.sender_id.clone(), c.clone()));
            if let Some(seq) = claim.as_ref().and_then(|key| s.client_ids.get(key)) {
                let existing = s
                    .messages
                    .get(room_id)
                    .and_then(|m| m.get(seq))
                    .cloned()
                    .ok_or_else(|| Error::internal("client id without message"))?;
                return Ok(Append::Duplicate(Box::new(existing)));
            }
            let Some(room) = s.rooms.get_mut(room_id) else {
                return Err(Error::room_not_found());
            };
            room.last_seq += 1;
            let seq = room.last_seq;
            let mut stored = message.clone();
            stored.seq = seq;
            room.last_message = Some(stored.preview());
            if let Some(key) = claim {
                s.client_ids.insert(key, seq);
            }
            s.message_seqs
                .insert((room_id.clone(), message.id.clone()), seq);
            s.messages
                .entry(room_id.clone())
                .or_default()
                .insert(seq, stored);
            Ok(Append::Stored {
                seq,
                id: message.id.clone(),
            })
        })
        .await
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        let s = self.lock()?;
        Ok(s.message_seqs
            .get(&(room.clone(), id.clone()))
            .and_then(|seq| s.messages.get(room)?.get(seq))
            .cloned())
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let s = self.lock()?;
        let Some(messages) = s.messages.get(room) else {
            return Ok(Vec::new());
        };
        let upper = before.unwrap_or(u64::MAX);
        Ok(messages
            .range(..upper)
            .rev()
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect())
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let s = self.lock()?;
        let Some(messages) = s.messages.get(room) else {
            return Ok(Vec::new());
        };
        Ok(messages
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect())
    }

    async fn change_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        change: &MessageChange,
    ) -> Result<ChangeMessage> {
        self.write(|| {
            let mut s = self.lock()?;
            let Some(seq) = s.message_seqs.get(&(room.clone(), id.clone())).copied() else {
                return Ok(ChangeMessage::NotFound);
            };
            let Some(current) = s.messages.get(room).and_then(|m| m.get(&seq)).cloned() else {
                return Ok(ChangeMessage::NotFound);
            };
            let changes = s.changes.entry(room.clone()).or_default();
            // A message's older change is dropped only for a newer one, so
            // the highest kept number is the room's counter.
            let number = changes.keys().next_back().copied().unwrap_or(0) + 1;
            let changed = match change.apply(&current, number) {
                Ok(changed) => changed,
                Err(refused) => return Ok(refused),
            };
            if current.change > 0 {
                changes.remove(&current.change);
            }
            changes.insert(number, seq);
            if let Some(r) = s.rooms.get_mut(room) {
                if r.last_message.as_ref().is_some_and(|m| m.id == changed.id) {
                    r.last_message = Some(changed.preview());
                }
            }
            s.messages
                .entry(room.clone())
                .or_default()
                .insert(seq, changed.clone());
            Ok(ChangeMessage::Changed(Box::new(changed)))
        })
        .await
    }

    async fn changes_after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let s = self.lock()?;
        let (Some(changes), Some(messages)) = (s.changes.get(room), s.messages.get(room)) else {
            return Ok(Vec::new());
        };
        Ok(changes
            .range(after.saturating_add(1)..)
            .take(limit)
            .filter_map(|(_, seq)| messages.get(seq).cloned())
            .collect())
    }
}
