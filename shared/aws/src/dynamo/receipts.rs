use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
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
/// DynamoDB refuses a condition of more than 300 operators or 4 KB: each
/// write raises the watermarks whose conditions fit under these, and a
/// room with more members takes one write more per this many.
const MAX_OPERATORS: usize = 290;
const MAX_CONDITION_LEN: usize = 3_800;

fn delivered_attr(user: &UserId) -> String {
    format!("d#{user}")
}
fn read_attr(user: &UserId) -> String {
    format!("r#{user}")
}

/// The condition that raising watermark `#a{i}` keeps it rising, and the
/// operators it counts. A text watermark predates seqs (it held a message
/// id): it may be replaced, which takes a longer condition, used only for
/// the watermarks a failed write found to be text.
fn rises(i: usize, text: bool) -> (String, usize) {
    if text {
        (
            format!("(attribute_not_exists(#a{i}) OR attribute_type(#a{i}, :text) OR #a{i} < :w)"),
            6,
        )
    } else {
        (format!("(attribute_not_exists(#a{i}) OR #a{i} < :w)"), 4)
    }
}

/// `attrs` cut into groups whose conditions DynamoDB accepts in one write.
fn writes(attrs: Vec<(String, bool)>) -> Vec<Vec<(String, bool)>> {
    let mut groups: Vec<Vec<(String, bool)>> = Vec::new();
    let (mut operators, mut len) = (0, 0);
    for attr in attrs {
        let (condition, ops) = rises(groups.last().map_or(0, Vec::len), attr.1);
        let full = operators + ops > MAX_OPERATORS || len + condition.len() + 5 > MAX_CONDITION_LEN;
        match groups.last_mut() {
            Some(group) if !full => {
                group.push(attr);
                operators += ops;
                len += condition.len() + 5;
            }
            _ => {
                groups.push(vec![attr]);
                operators = ops;
                len = condition.len();
            }
        }
    }
    groups
}

impl DynamoStore {
    /// Raises each named watermark attribute to `upto`, conditional on every
    /// one of them being lower: one request for up to about seventy, the
    /// writes of more sent together. Returns the watermarks item as the
    /// last write left it (`None`: all were already there, nothing written).
    async fn raise(&self, room: &RoomId, attrs: Vec<String>, upto: u64) -> Result<Option<Item>> {
        let groups = writes(attrs.into_iter().map(|a| (a, false)).collect());
        let written = futures_util::future::join_all(
            groups
                .into_iter()
                .map(|group| self.raise_group(room, group, upto)),
        )
        .await;
        let mut last = None;
        for item in written {
            if let Some(item) = item? {
                last = Some(item);
            }
        }
        Ok(last)
    }

    /// Raises one group of watermarks in one write. If a concurrent writer
    /// got further for some, re-reads and raises only the rest.
    async fn raise_group(
        &self,
        room: &RoomId,
        attrs: Vec<(String, bool)>,
        upto: u64,
    ) -> Result<Option<Item>> {
        let mut pending = attrs;
        for _ in 0..RAISE_ATTEMPTS {
            if pending.is_empty() {
                return Ok(None);
            }
            let mut sets = Vec::new();
            let mut conditions = Vec::new();
            let mut names = std::collections::HashMap::new();
            let mut any_text = false;
            for (i, (attr, text)) in pending.iter().enumerate() {
                sets.push(format!("#a{i} = :w"));
                conditions.push(rises(i, *text).0);
                names.insert(format!("#a{i}"), attr.clone());
                any_text |= *text;
            }
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(room_pk(room)))
                .key(SK, s(RECEIPTS))
                .update_expression(format!("SET {}", sets.join(", ")))
                .condition_expression(conditions.join(" AND "))
                .set_expression_attribute_names(Some(names))
                .expression_attribute_values(":w", n(upto))
                .return_values(ReturnValue::AllNew);
            if any_text {
                request = request.expression_attribute_values(":text", s("S"));
            }
            match request.send().await {
                Ok(written) => return Ok(Some(written.attributes.unwrap_or_default())),
                Err(e) if is_conditional_check_failed(&e) => {
                    let current = self
                        .get(&room_pk(room), RECEIPTS)
                        .await?
                        .unwrap_or_default();
                    pending = pending
                        .into_iter()
                        .filter_map(|(attr, _)| match current.get(&attr) {
                            Some(AttributeValue::S(_)) => Some((attr, true)),
                            _ if item::opt_n::<u64>(&current, &attr).is_some_and(|w| w >= upto) => {
                                None
                            }
                            _ => Some((attr, false)),
                        })
                        .collect();
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
