use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chat_core::domain::{Message, MessageBody, MessageId, RoomId, UserId, Username};
use chat_core::ports::{Append, HistoryCursor, MessageStore};
use chat_core::{Error, Result};

use super::item::{self, cancellation_codes, failed_at, s, ts, Item};
use super::item::{preview_value, room_exists};
use super::keys::{client_sk, message_sk, room_pk, META, MSG_PREFIX};
use super::DynamoStore;
use crate::sdk_error::{build_error, translate};

fn message_item(m: &Message) -> Item {
    let mut out = item::key(&room_pk(&m.room_id), &message_sk(&m.id));
    out.insert("id".into(), s(m.id.as_str()));
    out.insert("room_id".into(), s(m.room_id.as_str()));
    out.insert("sender_id".into(), s(m.sender_id.as_str()));
    out.insert("sender_username".into(), s(m.sender_username.as_str()));
    out.insert("body".into(), s(m.body.as_str()));
    out.insert("created_at".into(), ts(m.created_at));
    if let Some(c) = &m.client_id {
        out.insert("client_id".into(), s(c));
    }
    out
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
    })
}

impl DynamoStore {
    /// One transaction: the message, its client-id claim, and the room's last
    /// message (only if this one is newer, or just a check that the room exists).
    async fn try_append(&self, m: &Message, update_last: bool) -> Result<Result<(), Vec<String>>> {
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
        // Actions: 0 the message, 1 the room, 2 the client-id claim (if any).
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(put(message_item(m))?);
        let room_action = if update_last {
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::key(&room_pk(&m.room_id), META)))
                        .update_expression("SET last_message = :m, last_id = :id")
                        .condition_expression(
                            "attribute_exists(pk) AND (attribute_not_exists(last_id) OR last_id < :id)",
                        )
                        .expression_attribute_values(":m", preview_value(&m.preview()))
                        .expression_attribute_values(":id", s(m.id.as_str()))
                        .build()
                        .map_err(build_error)?,
                )
                .build()
        } else {
            room_exists(&self.table, &m.room_id)?
        };
        request = request.transact_items(room_action);
        if let Some(client_id) = &m.client_id {
            let mut claim = item::key(&room_pk(&m.room_id), &client_sk(&m.sender_id, client_id));
            claim.insert("message_id".into(), s(m.id.as_str()));
            request = request.transact_items(put(claim)?);
        }
        match request.send().await {
            Ok(_) => Ok(Ok(())),
            Err(e) => match cancellation_codes(&e) {
                Some(codes) => Ok(Err(codes)),
                None => Err(translate("TransactWriteItems", e)),
            },
        }
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        let mut update_last = true;
        loop {
            let codes = match self.try_append(message, update_last).await? {
                Ok(()) => return Ok(Append::Stored),
                Err(codes) => codes,
            };
            if let (Some(client_id), true) = (&message.client_id, failed_at(&codes, 2)) {
                let claim = self
                    .get(
                        &room_pk(&message.room_id),
                        &client_sk(&message.sender_id, client_id),
                    )
                    .await?
                    .ok_or_else(|| Error::unavailable("client id claim vanished"))?;
                let id = MessageId::from_trusted(item::get_s(&claim, "message_id")?);
                let existing = self
                    .message(&message.room_id, &id)
                    .await?
                    .ok_or_else(|| Error::unavailable("message not visible yet"))?;
                return Ok(Append::Duplicate(Box::new(existing)));
            }
            match (failed_at(&codes, 1), update_last) {
                // A newer message is already the room's last, or the room is
                // gone; the plain existence check tells which.
                (true, true) => update_last = false,
                (true, false) => return Err(Error::room_not_found()),
                (false, _) => return Err(Error::internal(format!("append refused: {codes:?}"))),
            }
        }
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        self.get(&room_pk(room), &message_sk(id))
            .await?
            .map(|i| message_from(&i))
            .transpose()
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<&HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        // Ids sort like their timestamps, so "older than the cursor" is a key
        // range. BETWEEN is inclusive: read one more and drop the cursor itself.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(room_pk(room)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        let query = match before {
            Some(cursor) => query
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s(MSG_PREFIX))
                .expression_attribute_values(":hi", s(message_sk(&cursor.id))),
            None => query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(MSG_PREFIX)),
        };
        let page = query.send().await.map_err(|e| translate("Query", e))?;
        let mut out = Vec::with_capacity(limit);
        for i in page.items() {
            let m = message_from(i)?;
            if before.is_some_and(|c| c.id == m.id) {
                continue;
            }
            if out.len() < limit {
                out.push(m);
            }
        }
        Ok(out)
    }
}
