use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chat_core::domain::{RoomId, UserId};
use chat_core::ports::{ReceiptStore, Receipts};
use chat_core::{Error, Result};

use super::item::{self, n, s, Item};
use super::keys::{room_pk, RECEIPTS};
use super::DynamoStore;
use crate::sdk_error::{is_conditional_check_failed, translate};
use crate::table::{PK, SK};

/// Tries at raising several watermarks at once before giving up.
const RAISE_ATTEMPTS: usize = 4;

fn delivered_attr(user: &UserId) -> String {
    format!("d#{user}")
}
fn read_attr(user: &UserId) -> String {
    format!("r#{user}")
}

impl DynamoStore {
    /// Raises each named watermark attribute to `upto` in one request,
    /// conditional on every one of them being lower. If a concurrent writer
    /// got further for some, re-reads and raises only the rest. Returns the
    /// watermarks item as the last write left it (`None`: all were already
    /// there, nothing written).
    async fn raise(&self, room: &RoomId, attrs: Vec<String>, upto: u64) -> Result<Option<Item>> {
        let mut pending = attrs;
        for _ in 0..RAISE_ATTEMPTS {
            if pending.is_empty() {
                return Ok(None);
            }
            let mut sets = Vec::new();
            let mut conditions = Vec::new();
            let mut names = std::collections::HashMap::new();
            for (i, attr) in pending.iter().enumerate() {
                sets.push(format!("#a{i} = :w"));
                // A text watermark predates seqs (it held a message id): replace it.
                conditions.push(format!(
                    "(attribute_not_exists(#a{i}) OR attribute_type(#a{i}, :text) OR #a{i} < :w)"
                ));
                names.insert(format!("#a{i}"), attr.clone());
            }
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(room_pk(room)))
                .key(SK, s(RECEIPTS))
                .update_expression(format!("SET {}", sets.join(", ")))
                .condition_expression(conditions.join(" AND "))
                .set_expression_attribute_names(Some(names))
                .expression_attribute_values(":w", n(upto))
                .expression_attribute_values(":text", s("S"))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(written) => return Ok(Some(written.attributes.unwrap_or_default())),
                Err(e) if is_conditional_check_failed(&e) => {
                    let current = self
                        .get(&room_pk(room), RECEIPTS)
                        .await?
                        .unwrap_or_default();
                    pending.retain(|a| item::opt_n::<u64>(&current, a).is_none_or(|w| w < upto));
                }
                Err(e) => return Err(translate("UpdateItem", e)),
            }
        }
        Err(Error::unavailable("receipts kept changing; try again"))
    }
}

/// The watermarks stored under `prefix`. A watermark that is not a number
/// was written before messages had a seq; it counts as none.
fn watermarks(i: &Item, prefix: &str) -> std::collections::HashMap<UserId, u64> {
    i.keys()
        .filter_map(|k| {
            let user = k.strip_prefix(prefix)?;
            Some((UserId::from_trusted(user.to_owned()), item::opt_n(i, k)?))
        })
        .collect()
}

#[async_trait]
impl ReceiptStore for DynamoStore {
    async fn mark_delivered(&self, room: &RoomId, users: &[UserId], upto: u64) -> Result<()> {
        let attrs = users.iter().map(delivered_attr).collect();
        self.raise(room, attrs, upto).await.map(|_| ())
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, upto: u64) -> Result<bool> {
        let Some(after) = self.raise(room, vec![read_attr(user)], upto).await? else {
            return Ok(false);
        };
        // Read implies delivered; usually it was delivered already, which
        // the item the write returned says without another request.
        let delivered = delivered_attr(user);
        if item::opt_n::<u64>(&after, &delivered).is_none_or(|d| d < upto) {
            self.raise(room, vec![delivered], upto).await?;
        }
        Ok(true)
    }

    async fn mark_sent(
        &self,
        room: &RoomId,
        sender: &UserId,
        delivered: &[UserId],
        upto: u64,
    ) -> Result<()> {
        let attrs = [read_attr(sender), delivered_attr(sender)]
            .into_iter()
            .chain(
                delivered
                    .iter()
                    .filter(|u| *u != sender)
                    .map(delivered_attr),
            )
            .collect();
        self.raise(room, attrs, upto).await.map(|_| ())
    }

    async fn receipts(&self, room: &RoomId) -> Result<Receipts> {
        let i = self
            .get(&room_pk(room), RECEIPTS)
            .await?
            .unwrap_or_default();
        Ok(Receipts {
            delivered: watermarks(&i, "d#"),
            read: watermarks(&i, "r#"),
        })
    }

    async fn read_marks(
        &self,
        user: &UserId,
        rooms: &[RoomId],
    ) -> Result<std::collections::HashMap<RoomId, u64>> {
        let keys = rooms
            .iter()
            .map(|room| (room_pk(room), RECEIPTS.to_owned()))
            .collect();
        let attr = read_attr(user);
        let mut marks: std::collections::HashMap<RoomId, u64> =
            rooms.iter().map(|room| (room.clone(), 0)).collect();
        for i in self.batch_get(keys).await? {
            let room = item::get_s(&i, PK)?;
            let room = RoomId::from_trusted(room.trim_start_matches("ROOM#").to_owned());
            if let Some(read) = item::opt_n::<u64>(&i, &attr) {
                marks.insert(room, read);
            }
        }
        Ok(marks)
    }
}
