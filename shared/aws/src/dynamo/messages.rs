//! Messages, numbered per room at commit.
//!
//! `append` reads the room's `last_seq`, then writes in one transaction the
//! message at `SEQ#<last_seq + 1>`, the room's new `last_seq` and last
//! message (on condition that `last_seq` did not move), the id → seq pointer
//! and the client-id claim. Two senders racing for one seq: one commits, the
//! other's condition fails and it retries with the next. So seqs are
//! contiguous and in commit order, and a crash leaves either everything or
//! nothing.
//!
//! Appends to one room from one process queue up behind each other instead
//! of racing (and remember the room's last seq, which saves the read when no
//! other process wrote since); only writers in different processes race.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chat_core::domain::{
    Attachment, Emoji, Message, MessageBody, MessageId, Reaction, RoomId, UserId, Username,
};
use chat_core::ports::{Append, ChangeMessage, MessageChange, MessageStore};
use chat_core::{Error, Result};

use super::item::preview_value;
use super::item::{self, failed_at, n, s, ts, Item};
use super::keys::{change_sk, client_sk, message_sk, room_pk, seq_sk, CHANGE_END, META, SEQ_END};
use super::DynamoStore;
use crate::sdk_error::{build_error, translate};

/// Tries at taking the room's next seq before answering "busy".
const APPEND_ATTEMPTS: u32 = 40;
/// Locks the rooms of a process are spread over.
const QUEUES: usize = 64;
/// Rooms whose last seq one queue remembers before it forgets them all.
const REMEMBERED_ROOMS: usize = 1024;

/// One process's appends, queued per room: striped locks, each holding the
/// last seq this process wrote in its rooms.
#[derive(Debug)]
pub struct AppendQueues {
    queues: Vec<tokio::sync::Mutex<HashMap<RoomId, u64>>>,
}

impl Default for AppendQueues {
    fn default() -> Self {
        Self {
            queues: (0..QUEUES).map(|_| tokio::sync::Mutex::default()).collect(),
        }
    }
}

impl AppendQueues {
    fn queue(&self, room: &RoomId) -> &tokio::sync::Mutex<HashMap<RoomId, u64>> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        room.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % QUEUES as u64).unwrap_or(0);
        &self.queues[index]
    }
}

fn message_item(m: &Message, seq: u64) -> Item {
    let mut out = item::key(&room_pk(&m.room_id), &seq_sk(seq));
    out.insert("id".into(), s(m.id.as_str()));
    out.insert("room_id".into(), s(m.room_id.as_str()));
    out.insert("sender_id".into(), s(m.sender_id.as_str()));
    out.insert("sender_username".into(), s(m.sender_username.as_str()));
    out.insert("body".into(), s(m.body.as_str()));
    out.insert("created_at".into(), ts(m.created_at));
    out.insert("seq".into(), n(seq));
    if let Some(c) = &m.client_id {
        out.insert("client_id".into(), s(c));
    }
    if let Some(at) = m.edited_at {
        out.insert("edited_at".into(), ts(at));
    }
    if let Some(at) = m.deleted_at {
        out.insert("deleted_at".into(), ts(at));
    }
    if m.change > 0 {
        out.insert("change".into(), n(m.change));
    }
    if !m.reactions.is_empty() {
        out.insert("reactions".into(), reactions_value(&m.reactions));
    }
    if !m.attachments.is_empty() {
        out.insert("attachments".into(), attachments_value(&m.attachments));
    }
    out
}

/// Attachments as a list of `{id, filename, content_type, size}` maps.
fn attachments_value(attachments: &[Attachment]) -> AttributeValue {
    AttributeValue::L(
        attachments
            .iter()
            .map(|a| {
                AttributeValue::M(HashMap::from([
                    ("id".to_owned(), s(&a.id)),
                    ("filename".to_owned(), s(&a.filename)),
                    ("content_type".to_owned(), s(&a.content_type)),
                    ("size".to_owned(), n(a.size)),
                ]))
            })
            .collect(),
    )
}

fn attachments_from(i: &Item) -> Result<Vec<Attachment>> {
    let Some(AttributeValue::L(list)) = i.get("attachments") else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|entry| {
            let AttributeValue::M(m) = entry else {
                return Err(Error::internal("a stored attachment is not a map"));
            };
            Ok(Attachment {
                id: item::get_s(m, "id")?,
                filename: item::get_s(m, "filename")?,
                content_type: item::get_s(m, "content_type")?,
                size: item::get_n(m, "size")?,
            })
        })
        .collect()
}

/// Reactions as a list of `{emoji, user_ids}` maps, in their order.
fn reactions_value(reactions: &[Reaction]) -> AttributeValue {
    AttributeValue::L(
        reactions
            .iter()
            .map(|r| {
                AttributeValue::M(HashMap::from([
                    ("emoji".to_owned(), s(r.emoji.as_str())),
                    (
                        "user_ids".to_owned(),
                        AttributeValue::L(r.user_ids.iter().map(|u| s(u.as_str())).collect()),
                    ),
                ]))
            })
            .collect(),
    )
}

fn reactions_from(i: &Item) -> Result<Vec<Reaction>> {
    let Some(AttributeValue::L(list)) = i.get("reactions") else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|entry| {
            let AttributeValue::M(m) = entry else {
                return Err(Error::internal("a stored reaction is not a map"));
            };
            let user_ids = match m.get("user_ids") {
                Some(AttributeValue::L(users)) => users
                    .iter()
                    .filter_map(|u| u.as_s().ok())
                    .map(|u| UserId::from_trusted(u.clone()))
                    .collect(),
                _ => Vec::new(),
            };
            Ok(Reaction {
                emoji: Emoji::from_trusted(item::get_s(m, "emoji")?),
                user_ids,
            })
        })
        .collect()
}

fn message_from(i: &Item) -> Result<Message> {
    Ok(Message {
        id: MessageId::from_trusted(item::get_s(i, "id")?),
        room_id: RoomId::from_trusted(item::get_s(i, "room_id")?),
        sender_id: UserId::from_trusted(item::get_s(i, "sender_id")?),
        sender_username: Username::from_trusted(item::get_s(i, "sender_username")?),
        body: MessageBody::from_trusted(item::get_s(i, "body")?),
        created_at: item::get_ts(i, "created_at")?,
        client_id: item::opt_s(i, "client_id"),
        seq: item::get_n(i, "seq")?,
        edited_at: item::opt_ts(i, "edited_at"),
        deleted_at: item::opt_ts(i, "deleted_at"),
        change: item::opt_n(i, "change").unwrap_or(0),
        reactions: reactions_from(i)?,
        attachments: attachments_from(i)?,
    })
}

/// Tries at a change before answering "busy" (each lost a race).
const CHANGE_ATTEMPTS: u32 = 20;

/// What became of one try at appending.
enum Attempt {
    Stored(u64),
    /// The client id was claimed already.
    Duplicate,
    /// Another message took the seq first (or the transaction collided).
    Raced,
}

/// A pause that doubles with each attempt (from 2 ms, at most 128 ms), with
/// jitter, so that writers of different processes stop colliding.
fn backoff(attempt: u32) -> Duration {
    let base = 2_000u64 << attempt.min(6);
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % base);
    Duration::from_micros(base / 2 + spread)
}

impl DynamoStore {
    /// One transaction storing `m` as message `seq` of its room.
    /// Appends `message` under the room's next seq, starting from the seq
    /// this process last stored in the room or `hint` (the room's `last_seq`
    /// as the caller read it), whichever is further, or else from a read.
    async fn append_from(&self, message: &Message, hint: Option<u64>) -> Result<Append> {
        let room = &message.room_id;
        let mut queue = self.appends.queue(room).lock().await;
        let mut known = match (queue.get(room).copied(), hint) {
            (Some(remembered), Some(hint)) => Some(remembered.max(hint)),
            (remembered, hint) => remembered.or(hint),
        };
        for attempt in 0..APPEND_ATTEMPTS {
            let last = match known.take() {
                Some(last) => last,
                None => self.last_seq(room).await?,
            };
            match self.try_append(message, last + 1).await? {
                Attempt::Stored(seq) => {
                    if queue.len() >= REMEMBERED_ROOMS {
                        queue.clear();
                    }
                    queue.insert(room.clone(), seq);
                    return Ok(Append::Stored { seq });
                }
                Attempt::Duplicate => {
                    drop(queue);
                    let client_id = message.client_id.as_deref().unwrap_or_default();
                    let existing = self.claimed(message, client_id).await?;
                    return Ok(Append::Duplicate(Box::new(existing)));
                }
                // Another process wrote (or the remembered seq was stale): read, retry.
                Attempt::Raced if attempt == 0 => {}
                Attempt::Raced => tokio::time::sleep(backoff(attempt)).await,
            }
        }
        Err(Error::unavailable(
            "the room is too busy to take the message; try again",
        ))
    }

    async fn try_append(&self, m: &Message, seq: u64) -> Result<Attempt> {
        let put = |item: Item| -> Result<TransactWriteItem> {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(build_error)?,
                )
                .build())
        };
        let stored = Message { seq, ..m.clone() };
        let previous = if seq == 1 {
            "attribute_not_exists(last_seq)"
        } else {
            "last_seq = :prev"
        };
        let mut room = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&room_pk(&m.room_id), META)))
            .update_expression("SET last_seq = :seq, last_message = :m")
            .condition_expression(format!("attribute_exists(pk) AND {previous}"))
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":m", preview_value(&stored.preview()));
        if seq > 1 {
            room = room.expression_attribute_values(":prev", n(seq - 1));
        }
        let mut pointer = item::key(&room_pk(&m.room_id), &message_sk(&m.id));
        pointer.insert("seq".into(), n(seq));
        // Actions: 0 the message, 1 the room, 2 the id pointer, 3 the client-id claim.
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(put(message_item(m, seq))?)
            .transact_items(
                TransactWriteItem::builder()
                    .update(room.build().map_err(build_error)?)
                    .build(),
            )
            .transact_items(put(pointer)?);
        if let Some(client_id) = &m.client_id {
            let mut claim = item::key(&room_pk(&m.room_id), &client_sk(&m.sender_id, client_id));
            claim.insert("message_id".into(), s(m.id.as_str()));
            claim.insert("seq".into(), n(seq));
            request = request.transact_items(put(claim)?);
        }
        let codes = match item::transact(request).await? {
            Ok(()) => return Ok(Attempt::Stored(seq)),
            Err(codes) => codes,
        };
        if m.client_id.is_some() && failed_at(&codes, 3) {
            return Ok(Attempt::Duplicate);
        }
        if failed_at(&codes, 2) {
            return Err(Error::internal(format!(
                "message id {} is stored already",
                m.id
            )));
        }
        if failed_at(&codes, 0)
            || failed_at(&codes, 1)
            || codes.iter().any(|c| c == "TransactionConflict")
        {
            return Ok(Attempt::Raced);
        }
        Err(Error::internal(format!("append refused: {codes:?}")))
    }

    /// One transaction applying `change` to the message at `seq`, read as
    /// `current`, with the room read as `meta`: `Ok(None)` when something
    /// moved since the reads (read again and retry).
    async fn try_change(
        &self,
        room: &RoomId,
        meta: &Item,
        current: &Message,
        change: &MessageChange,
    ) -> Result<Option<ChangeMessage>> {
        let last_change: u64 = item::opt_n(meta, "last_change").unwrap_or(0);
        let changed = match change.apply(current, last_change + 1) {
            Ok(changed) => changed,
            Err(refused) => return Ok(Some(refused)),
        };
        let is_last = matches!(meta.get("last_message"),
            Some(aws_sdk_dynamodb::types::AttributeValue::M(m))
                if item::opt_s(m, "id").as_deref() == Some(current.id.as_str()));
        let previous = if last_change == 0 {
            "attribute_not_exists(last_change)"
        } else {
            "last_change = :prev"
        };
        let mut counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&room_pk(room), META)))
            .condition_expression(format!("attribute_exists(pk) AND {previous}"))
            .expression_attribute_values(":change", n(changed.change));
        if last_change > 0 {
            counter = counter.expression_attribute_values(":prev", n(last_change));
        }
        counter = if is_last {
            counter
                .update_expression("SET last_change = :change, last_message = :m")
                .condition_expression(format!(
                    "attribute_exists(pk) AND {previous} AND last_message.id = :id"
                ))
                .expression_attribute_values(":m", preview_value(&changed.preview()))
                .expression_attribute_values(":id", s(current.id.as_str()))
        } else {
            counter.update_expression("SET last_change = :change")
        };
        let unchanged = if current.change == 0 {
            "attribute_not_exists(#change)"
        } else {
            "#change = :old"
        };
        let mut message = Put::builder()
            .table_name(&self.table)
            .set_item(Some(message_item(&changed, changed.seq)))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists(deleted_at) AND {unchanged}"
            ))
            .expression_attribute_names("#change", "change");
        if current.change > 0 {
            message = message.expression_attribute_values(":old", n(current.change));
        }
        let mut pointer = item::key(&room_pk(room), &change_sk(changed.change));
        pointer.insert("seq".into(), n(changed.seq));
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(counter.build().map_err(build_error)?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(message.build().map_err(build_error)?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(pointer))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        if current.change > 0 {
            request = request.transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(item::key(&room_pk(room), &change_sk(current.change))))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        match item::transact(request).await? {
            Ok(()) => Ok(Some(ChangeMessage::Changed(Box::new(changed)))),
            Err(codes) if failed_at(&codes, 0) || failed_at(&codes, 1) => Ok(None),
            Err(codes) => Err(Error::internal(format!("change refused: {codes:?}"))),
        }
    }

    /// The room's `last_seq`, or not found.
    async fn last_seq(&self, room: &RoomId) -> Result<u64> {
        let meta = self
            .get(&room_pk(room), META)
            .await?
            .ok_or_else(Error::room_not_found)?;
        Ok(item::opt_n(&meta, "last_seq").unwrap_or(0))
    }

    /// The message a sender's client id already stored.
    async fn claimed(&self, m: &Message, client_id: &str) -> Result<Message> {
        let claim = self
            .get(&room_pk(&m.room_id), &client_sk(&m.sender_id, client_id))
            .await?
            .ok_or_else(|| Error::unavailable("client id claim vanished"))?;
        let seq = item::get_n(&claim, "seq")?;
        self.get(&room_pk(&m.room_id), &seq_sk(seq))
            .await?
            .map(|i| message_from(&i))
            .transpose()?
            .ok_or_else(|| Error::internal("client id claim without its message"))
    }

    /// Up to `limit` items of the room with a sort key from `from` to `to`,
    /// in key order (or reversed), read strongly consistent.
    async fn query_range(
        &self,
        room: &RoomId,
        (from, to): (String, String),
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Item>> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(room_pk(room)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(!newest_first)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| translate("Query", e))?;
        Ok(page.items.unwrap_or_default())
    }

    async fn query_seqs(
        &self,
        room: &RoomId,
        from: String,
        to: String,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.query_range(room, (from, to), newest_first, limit)
            .await?
            .iter()
            .map(message_from)
            .collect()
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        self.append_from(message, None).await
    }

    async fn append_after(&self, message: &Message, last_seq: u64) -> Result<Append> {
        self.append_from(message, Some(last_seq)).await
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        let Some(pointer) = self.get(&room_pk(room), &message_sk(id)).await? else {
            return Ok(None);
        };
        let seq = item::get_n(&pointer, "seq")?;
        self.get(&room_pk(room), &seq_sk(seq))
            .await?
            .map(|i| message_from(&i))
            .transpose()
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let to = match before {
            Some(0 | 1) => return Ok(Vec::new()),
            Some(before) => seq_sk(before - 1),
            None => SEQ_END.to_owned(),
        };
        self.query_seqs(room, seq_sk(1), to, true, limit).await
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let from = seq_sk(after.saturating_add(1));
        self.query_seqs(room, from, SEQ_END.to_owned(), false, limit)
            .await
    }

    async fn change_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        change: &MessageChange,
    ) -> Result<ChangeMessage> {
        for attempt in 0..CHANGE_ATTEMPTS {
            let Some(current) = self.message(room, id).await? else {
                return Ok(ChangeMessage::NotFound);
            };
            let meta = self
                .get(&room_pk(room), META)
                .await?
                .ok_or_else(Error::room_not_found)?;
            if let Some(outcome) = self.try_change(room, &meta, &current, change).await? {
                return Ok(outcome);
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(Error::unavailable(
            "the room's messages kept changing; try again",
        ))
    }

    async fn changes_after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let range = (change_sk(after.saturating_add(1)), CHANGE_END.to_owned());
        let seqs = self
            .query_range(room, range, false, limit)
            .await?
            .iter()
            .map(|i| item::get_n::<u64>(i, "seq"))
            .collect::<Result<Vec<u64>>>()?;
        let keys = seqs
            .iter()
            .map(|seq| (room_pk(room), seq_sk(*seq)))
            .collect();
        let mut by_seq: HashMap<u64, Message> = self
            .batch_get(keys)
            .await?
            .iter()
            .map(|i| message_from(i).map(|m| (m.seq, m)))
            .collect::<Result<_>>()?;
        Ok(seqs.iter().filter_map(|seq| by_seq.remove(seq)).collect())
    }
}
