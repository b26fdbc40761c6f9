//! Messages, numbered per room at commit.
//!
//! `append` puts the message at `SEQ#<n>` on condition that no message holds
//! that key, where `n - 1` is a seq known to be taken (the room's `last_seq`
//! as read, the seq this process last stored, or the room's newest message
//! found by a query after losing a race). Two senders racing for one seq:
//! one put succeeds, the other's condition fails and it tries the next. So
//! seqs are contiguous and in commit order, and a crash leaves the message
//! stored or not, never a gap. With a client id the put and the claim of the
//! client id are one transaction.
//!
//! The room's summary (`last_seq`, `last_message`) follows in a plain
//! update that never moves it back. A writer that dies between the two
//! leaves the summary one message behind until the next message, which
//! finds the newest seq itself (one query more) and brings it up to date.
//!
//! A message's id carries its seq (`<id>-<seq>`), so it is read by id in one
//! request; messages stored before that have an id → seq pointer item.
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
use crate::sdk_error::{build_error, is_conditional_check_failed, translate};

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
    Stored(Box<Message>),
    /// The client id was claimed already.
    Duplicate,
    /// Another message took the seq first (or the transaction collided).
    Raced,
}

/// The id a message is stored under: the given one with its seq, so that
/// reading it by id needs no pointer.
fn id_with_seq(id: &MessageId, seq: u64) -> MessageId {
    MessageId::from_trusted(format!("{id}-{seq}"))
}

/// The seq an id made by [`id_with_seq`] carries (`None` for ids stored
/// before ids carried their seq: generated ids have no `-`).
fn seq_in_id(id: &MessageId) -> Option<u64> {
    let (head, seq) = id.as_str().rsplit_once('-')?;
    if head.is_empty() || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok().filter(|seq| *seq > 0)
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
        let mut raced = false;
        for attempt in 0..APPEND_ATTEMPTS {
            let last = match known.take() {
                Some(last) => last,
                // After a lost race the summary may be behind: ask the messages.
                None if raced => self.newest_seq(room).await?,
                None => self.last_seq(room).await?,
            };
            match self.try_append(message, last + 1).await? {
                Attempt::Stored(stored) => {
                    if queue.len() >= REMEMBERED_ROOMS {
                        queue.clear();
                    }
                    queue.insert(room.clone(), stored.seq);
                    drop(queue);
                    self.summarise(&stored).await;
                    return Ok(Append::Stored {
                        seq: stored.seq,
                        id: stored.id,
                    });
                }
                Attempt::Duplicate => {
                    drop(queue);
                    let client_id = message.client_id.as_deref().unwrap_or_default();
                    let existing = self.claimed(message, client_id).await?;
                    return Ok(Append::Duplicate(Box::new(existing)));
                }
                // Another process wrote (or the remembered seq was stale): read, retry.
                Attempt::Raced => {
                    if raced {
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    raced = true;
                }
            }
        }
        Err(Error::unavailable(
            "the room is too busy to take the message; try again",
        ))
    }

    /// Puts `m` at `seq` if no message holds it, with its client-id claim
    /// in the same transaction when it has one.
    async fn try_append(&self, m: &Message, seq: u64) -> Result<Attempt> {
        let stored = Message {
            seq,
            id: id_with_seq(&m.id, seq),
            ..m.clone()
        };
        let new_item = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
        };
        let message = message_item(&stored, seq);
        let Some(client_id) = &m.client_id else {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(message))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match put {
                Ok(_) => Ok(Attempt::Stored(Box::new(stored))),
                Err(e) if is_conditional_check_failed(&e) => Ok(Attempt::Raced),
                Err(e) => Err(translate("PutItem", e)),
            };
        };
        let mut claim = item::key(&room_pk(&m.room_id), &client_sk(&m.sender_id, client_id));
        claim.insert("message_id".into(), s(stored.id.as_str()));
        claim.insert("seq".into(), n(seq));
        // Actions: 0 the message, 1 the client-id claim.
        let request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(new_item(message).build().map_err(build_error)?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(new_item(claim).build().map_err(build_error)?)
                    .build(),
            );
        match item::transact(request).await? {
            Ok(()) => Ok(Attempt::Stored(Box::new(stored))),
            Err(codes) if failed_at(&codes, 1) => Ok(Attempt::Duplicate),
            Err(codes) if failed_at(&codes, 0) => Ok(Attempt::Raced),
            Err(codes) if codes.iter().any(|c| c == "TransactionConflict") => Ok(Attempt::Raced),
            Err(codes) => Err(Error::internal(format!("append refused: {codes:?}"))),
        }
    }

    /// Makes `m` the room's last message unless a later one is already
    /// (the summary never moves back). The message is stored whatever
    /// happens here: a failure leaves the summary behind until the next
    /// message, so it is logged, not returned.
    async fn summarise(&self, m: &Message) {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key(&room_pk(&m.room_id), META)))
            .update_expression("SET last_seq = :seq, last_message = :m")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(last_seq) OR last_seq < :seq)",
            )
            .expression_attribute_values(":seq", n(m.seq))
            .expression_attribute_values(":m", preview_value(&m.preview()))
            .send()
            .await;
        match result {
            Ok(_) => {}
            // A later message's summary is there already (or the room is gone).
            Err(e) if is_conditional_check_failed(&e) => {}
            Err(e) => {
                tracing::warn!(room = %m.room_id, seq = m.seq, error = %translate("UpdateItem", e),
                    "the room's summary was not updated; the next message brings it up to date");
            }
        }
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
        // Read together, the message and the room may straddle another
        // change (the room read before it, the message after): read again.
        if current.change > last_change {
            return Ok(None);
        }
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

    /// The room's `last_seq` as its summary says, or not found.
    async fn last_seq(&self, room: &RoomId) -> Result<u64> {
        let meta = self
            .get(&room_pk(room), META)
            .await?
            .ok_or_else(Error::room_not_found)?;
        Ok(item::opt_n(&meta, "last_seq").unwrap_or(0))
    }

    /// The seq message `id` is stored at, from the id or (for messages
    /// stored before ids carried their seq) from its pointer.
    async fn seq_of(&self, room: &RoomId, id: &MessageId) -> Result<Option<u64>> {
        if let Some(seq) = seq_in_id(id) {
            return Ok(Some(seq));
        }
        self.get(&room_pk(room), &message_sk(id))
            .await?
            .map(|pointer| item::get_n(&pointer, "seq"))
            .transpose()
    }

    /// Message `id` (if the room has it) and the room's summary, read
    /// together.
    async fn message_and_room(
        &self,
        room: &RoomId,
        id: &MessageId,
    ) -> Result<(Option<Message>, Item)> {
        let Some(seq) = self.seq_of(room, id).await? else {
            let meta = self.get(&room_pk(room), META).await?;
            return Ok((None, meta.ok_or_else(Error::room_not_found)?));
        };
        let (pk, sk) = (room_pk(room), seq_sk(seq));
        let mut found = self
            .batch_get(vec![(pk.clone(), sk.clone()), (pk, META.to_owned())])
            .await?;
        let meta = found
            .iter()
            .position(|i| item::opt_s(i, crate::table::SK).as_deref() == Some(META))
            .map(|at| found.swap_remove(at))
            .ok_or_else(Error::room_not_found)?;
        let message = found.first().map(message_from).transpose()?;
        // An id naming a seq that holds another message finds nothing.
        Ok((message.filter(|m| m.id == *id), meta))
    }

    /// The seq of the room's newest message (0 for none), read from the
    /// messages themselves: right even when the summary is behind.
    async fn newest_seq(&self, room: &RoomId) -> Result<u64> {
        let newest = self
            .query_range(room, (seq_sk(1), SEQ_END.to_owned()), true, 1)
            .await?;
        newest
            .first()
            .map_or(Ok(0), |i| item::get_n::<u64>(i, "seq"))
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
        let Some(seq) = self.seq_of(room, id).await? else {
            return Ok(None);
        };
        let Some(found) = self.get(&room_pk(room), &seq_sk(seq)).await? else {
            return Ok(None);
        };
        // An id naming a seq that holds another message finds nothing.
        let found = message_from(&found)?;
        Ok((found.id == *id).then_some(found))
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
            let (current, meta) = self.message_and_room(room, id).await?;
            let Some(current) = current else {
                return Ok(ChangeMessage::NotFound);
            };
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
