use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chat_core::domain::{Connection, RoomId, Timestamp, UserId};
use chat_core::ports::ConnectionStore;
use chat_core::Result;

use super::item::{self, s, ts, Item};
use super::keys::{conn_pk, user_pk, CONN, CONNS};
use super::DynamoStore;
use crate::sdk_error::translate;
use crate::table::{PK, SK, TTL};

fn connection_item(c: &Connection) -> Item {
    let mut out = item::key(&conn_pk(&c.id), CONN);
    out.insert("id".into(), s(&c.id));
    out.insert("user_id".into(), s(c.user_id.as_str()));
    if let Some(room) = &c.room_id {
        out.insert("room_id".into(), s(room.as_str()));
    }
    out.insert("connected_at".into(), ts(c.connected_at));
    out.insert("expires_at".into(), ts(c.expires_at));
    out.insert(TTL.into(), item::ttl(c.expires_at));
    out
}

fn connection_from(i: &Item) -> Result<Connection> {
    Ok(Connection {
        id: item::get_s(i, "id")?,
        user_id: UserId::from_trusted(item::get_s(i, "user_id")?),
        room_id: item::opt_s(i, "room_id").map(RoomId::from_trusted),
        connected_at: item::get_ts(i, "connected_at")?,
        expires_at: item::get_ts(i, "expires_at")?,
    })
}

/// The connections listed in a user's `CONNS` item (its map `c`).
fn listed(user: &UserId, i: &Item) -> Vec<Connection> {
    let Some(AttributeValue::M(map)) = i.get("c") else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(id, entry)| {
            let AttributeValue::M(entry) = entry else {
                return None;
            };
            Some(Connection {
                id: id.clone(),
                user_id: user.clone(),
                room_id: item::opt_s(entry, "r").map(RoomId::from_trusted),
                connected_at: item::opt_ts(entry, "a")?,
                expires_at: item::opt_ts(entry, "e")?,
            })
        })
        .collect()
}

fn live_count(user: &UserId, i: Option<&Item>, now: Timestamp) -> usize {
    i.map_or(0, |i| {
        listed(user, i).iter().filter(|c| c.is_live(now)).count()
    })
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn add_connection(&self, c: &Connection, now: Timestamp) -> Result<usize> {
        self.put(connection_item(c)).await?;
        let mut entry = HashMap::from([
            ("a".to_owned(), ts(c.connected_at)),
            ("e".to_owned(), ts(c.expires_at)),
        ]);
        if let Some(room) = &c.room_id {
            entry.insert("r".to_owned(), s(room.as_str()));
        }
        // The map must exist before a key can be set inside it.
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(&c.user_id)))
            .key(SK, s(CONNS))
            .update_expression("SET c = if_not_exists(c, :empty), #ttl = :ttl")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .expression_attribute_values(":ttl", item::ttl(c.expires_at))
            .send()
            .await;
        output.map_err(|e| translate("UpdateItem", e))?;
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(&c.user_id)))
            .key(SK, s(CONNS))
            .update_expression("SET c.#id = :entry")
            .expression_attribute_names("#id", &c.id)
            .expression_attribute_values(":entry", AttributeValue::M(entry))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| translate("UpdateItem", e))?;
        Ok(live_count(&c.user_id, output.attributes.as_ref(), now))
    }

    async fn remove_connection(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Connection, usize)>> {
        let old = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(conn_pk(id)))
            .key(SK, s(CONN))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| translate("DeleteItem", e))?
            .attributes;
        let Some(old) = old.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let connection = connection_from(&old)?;
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(&connection.user_id)))
            .key(SK, s(CONNS))
            .update_expression("REMOVE c.#id")
            .condition_expression("attribute_exists(c)")
            .expression_attribute_names("#id", id)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let remaining = match output {
            Ok(output) => live_count(&connection.user_id, output.attributes.as_ref(), now),
            Err(e) if crate::sdk_error::is_conditional_check_failed(&e) => 0,
            Err(e) => return Err(translate("UpdateItem", e)),
        };
        Ok(Some((connection, remaining)))
    }

    async fn connection(&self, id: &str, now: Timestamp) -> Result<Option<Connection>> {
        Ok(self
            .get(&conn_pk(id), CONN)
            .await?
            .map(|i| connection_from(&i))
            .transpose()?
            .filter(|c| c.is_live(now)))
    }

    async fn connections_of(&self, users: &[UserId], now: Timestamp) -> Result<Vec<Connection>> {
        let mut unique: Vec<&UserId> = users.iter().collect();
        unique.sort();
        unique.dedup();
        let keys = unique
            .iter()
            .map(|u| (user_pk(u), CONNS.to_owned()))
            .collect();
        let mut out = Vec::new();
        for i in self.batch_get(keys).await? {
            let user = item::get_s(&i, PK)?;
            let user = UserId::from_trusted(user.trim_start_matches("USER#").to_owned());
            out.extend(listed(&user, &i).into_iter().filter(|c| c.is_live(now)));
        }
        Ok(out)
    }
}
