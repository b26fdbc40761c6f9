//! Delivery and read watermarks.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::{RoomId, UserId};
use crate::ports::{ReceiptStore, Receipts};
use crate::Result;

use super::MemoryStore;

/// Raises `slot` to `upto`; true if it moved.
fn raise(slot: &mut HashMap<UserId, u64>, user: &UserId, upto: u64) -> bool {
    match slot.get(user) {
        Some(current) if *current >= upto => false,
        _ => {
            slot.insert(user.clone(), upto);
            true
        }
    }
}

#[async_trait]
impl ReceiptStore for MemoryStore {
    async fn mark_delivered(&self, room: &RoomId, users: &[UserId], upto: u64) -> Result<()> {
        self.write(|| {
            let mut s = self.lock()?;
            let receipts = s.receipts.entry(room.clone()).or_default();
            for user in users {
                raise(&mut receipts.delivered, user, upto);
            }
            Ok(())
        })
        .await
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, upto: u64) -> Result<bool> {
        self.write(|| {
            let mut s = self.lock()?;
            let receipts = s.receipts.entry(room.clone()).or_default();
            raise(&mut receipts.delivered, user, upto);
            Ok(raise(&mut receipts.read, user, upto))
        })
        .await
    }

    async fn receipts(&self, room: &RoomId) -> Result<Receipts> {
        Ok(self.lock()?.receipts.get(room).cloned().unwrap_or_default())
    }

    async fn read_marks(&self, user: &UserId, rooms: &[RoomId]) -> Result<HashMap<RoomId, u64>> {
        let s = self.lock()?;
        Ok(rooms
            .iter()
            .map(|room| {
                let read = s
                    .receipts
                    .get(room)
                    .and_then(|r| r.read.get(user))
                    .copied()
                    .unwrap_or(0);
                (room.clone(), read)
            })
            .collect())
    }
}
