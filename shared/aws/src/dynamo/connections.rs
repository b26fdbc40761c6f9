//! WebSocket connections.
//!
//! Each connection is an item of its own (`CONN#<id>`), read by id. A user's
//! `CONNS` item lists their connections, one attribute per connection
//! (`c_<id>`: when it opened and expires, its room, its login session), and
//! counts them (`n`):
//! opening or closing a socket writes one entry and one number, whatever
//! how many sockets the user holds, and the members of a room are still
//! found with one BatchGetItem per 100 users when a message goes out.
//!
//! The count is exact for connections that open and close. A connection
//! whose close never came (API Gateway's `$disconnect` is best effort)
//! stays counted until it expires and the user reaches the cap: the cap's
//! refusal first drops the expired entries and recounts.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use chat_core::domain::{Connection, RoomId, Timestamp, UserId};
use chat_core::ports::{AddConnection, ConnectionStore};
use chat_core::{Error, Result};

use super::item::{self, failed_at, n, s, ts, Item};
use super::keys::{conn_pk, user_pk, CONN, CONNS};
use super::DynamoStore;
use crate::sdk_error::{build_error, is_conditional_check_failed, translate};
use crate::table::{PK, SK, TTL};

/// Prefix of the attribute that lists one connection in a `CONNS` item.
const ENTRY_PREFIX: &str = "c_";
/// The attribute that counts a user's listed connections.
const COUNT: &str = "n";
/// How many expired entries one repair drops (keeps the expression small).
const REPAIR_MAX: usize = 90;

fn entry_name(id: &str) -> String {
    format!("{ENTRY_PREFIX}{id}")
}

fn connection_item(c: &Connection) -> Item {
    let mut out = item::key(&conn_pk(&c.id), CONN);
    out.insert("id".into(), s(&c.id));
    out.insert("user_id".into(), s(c.user_id.as_str()));
    if let Some(room) = &c.room_id {
        out.insert("room_id".into(), s(room.as_str()));
    }
    out.insert("connected_at".into(), ts(c.connected_at));
    out.insert("expires_at".into(), ts(c.expires_at));
    if let Some(family) = &c.family {
        out.insert("family".into(), s(family));
    }
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
        family: item::opt_s(i, "family"),
    })
}

/// A connection's entry in its user's `CONNS` item.
fn entry(c: &Connection) -> AttributeValue {
    let mut entry = HashMap::from([
        ("a".to_owned(), ts(c.connected_at)),
        ("e".to_owned(), ts(c.expires_at)),
    ]);
    if let Some(room) = &c.room_id {
        entry.insert("r".to_owned(), s(room.as_str()));
    }
    if let Some(family) = &c.family {
        entry.insert("f".to_owned(), s(family));
    }
    AttributeValue::M(entry)
}

fn from_entry(user: &UserId, id: &str, entry: &AttributeValue) -> Option<Connection> {
    let AttributeValue::M(entry) = entry else {
        return None;
    };
    Some(Connection {
        id: id.to_owned(),
        user_id: user.clone(),
        room_id: item::opt_s(entry, "r").map(RoomId::from_trusted),
        connected_at: item::opt_ts(entry, "a")?,
        expires_at: item::opt_ts(entry, "e")?,
        family: item::opt_s(entry, "f"),
    })
}

/// The connections listed in a user's `CONNS` item, live or not. Items
/// written before the one-attribute-per-connection layout kept them in a
/// map `c`; those are read too until they expire.
fn listed(user: &UserId, i: &Item) -> Vec<Connection> {
    let entries = i
        .iter()
        .filter_map(|(name, v)| Some((name.strip_prefix(ENTRY_PREFIX)?, v)));
    let legacy = match i.get("c") {
        Some(AttributeValue::M(map)) => Some(map.iter().map(|(id, v)| (id.as_str(), v))),
        _ => None,
    };
    entries
        .chain(legacy.into_iter().flatten())
        .filter_map(|(id, v)| from_entry(user, id, v))
        .collect()
}

impl DynamoStore {
    /// The user's count, read consistently.
    async fn connection_count(&self, user: &UserId) -> Result<usize> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(CONNS))
            .projection_expression("#n")
            .expression_attribute_names("#n", COUNT)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| translate("GetItem", e))?;
        Ok(output
            .item
            .and_then(|i| item::opt_n::<i64>(&i, COUNT))
            .map_or(0, |n| usize::try_from(n).unwrap_or(0)))
    }

    /// Drops the user's expired entries and sets the count to the live ones.
    /// Returns whether that freed anything (or someone changed the item
    /// meanwhile, which is worth another try too).
    async fn drop_expired_connections(&self, user: &UserId, now: Timestamp) -> Result<bool> {
        let Some(conns) = self.get(&user_pk(user), CONNS).await? else {
            return Ok(false);
        };
        let observed: i64 = item::opt_n(&conns, COUNT).unwrap_or(0);
        let all = listed(user, &conns);
        let live = all.iter().filter(|c| c.is_live(now)).count();
        let expired: Vec<&Connection> = all
            .iter()
            .filter(|c| !c.is_live(now) && conns.contains_key(&entry_name(&c.id)))
            .take(REPAIR_MAX)
            .collect();
        let live_count = i64::try_from(live).unwrap_or(i64::MAX);
        if expired.is_empty() && observed == live_count {
            return Ok(false);
        }
        let mut names = HashMap::from([("#n".to_owned(), COUNT.to_owned())]);
        let mut removed = Vec::with_capacity(expired.len());
        for (i, c) in expired.iter().enumerate() {
            names.insert(format!("#e{i}"), entry_name(&c.id));
            removed.push(format!("#e{i}"));
        }
        let mut expression = "SET #n = :live".to_owned();
        if !removed.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&removed.join(", "));
        }
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(CONNS))
            .update_expression(expression)
            .condition_expression("#n = :observed")
            .set_expression_attribute_names(Some(names))
            .expression_attribute_values(":live", n(live_count))
            .expression_attribute_values(":observed", n(observed))
            .send()
            .await;
        match output {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failed(&e) => Ok(true),
            Err(e) => Err(translate("UpdateItem", e)),
        }
    }

    /// One try at recording `c` under the cap: `Ok(false)` when the user
    /// already holds `limit` connections.
    async fn try_add_connection(&self, c: &Connection, limit: usize) -> Result<bool> {
        let list = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&user_pk(&c.user_id), CONNS)))
            .update_expression("SET #entry = :entry, #ttl = :ttl ADD #n :one")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#entry", entry_name(&c.id))
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#n", COUNT)
            .expression_attribute_values(":entry", entry(c))
            .expression_attribute_values(":ttl", item::ttl(c.expires_at))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .build()
            .map_err(build_error)?;
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(connection_item(c)))
            .build()
            .map_err(build_error)?;
        let outcome = item::transact(
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(list).build())
                .transact_items(TransactWriteItem::builder().put(record).build()),
        )
        .await?;
        match outcome {
            Ok(()) => Ok(true),
            Err(codes) if failed_at(&codes, 0) => Ok(false),
            Err(codes) => Err(Error::internal(format!(
                "add connection refused: {codes:?}"
            ))),
        }
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn add_connection(
        &self,
        c: &Connection,
        now: Timestamp,
        limit: usize,
    ) -> Result<AddConnection> {
        if limit == 0 {
            return Ok(AddConnection::Full);
        }
        let mut added = self.try_add_connection(c, limit).await?;
        if !added && self.drop_expired_connections(&c.user_id, now).await? {
            added = self.try_add_connection(c, limit).await?;
        }
        if !added {
            return Ok(AddConnection::Full);
        }
        Ok(AddConnection::Added {
            live: self.connection_count(&c.user_id).await?.max(1),
        })
    }

    async fn remove_connection(
        &self,
        id: &str,
        _now: Timestamp,
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
            .update_expression("REMOVE #entry ADD #n :minus_one")
            .condition_expression("attribute_exists(#entry)")
            .expression_attribute_names("#entry", entry_name(id))
            .expression_attribute_names("#n", COUNT)
            .expression_attribute_values(":minus_one", n(-1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let remaining = match output {
            Ok(output) => output
                .attributes
                .and_then(|i| item::opt_n::<i64>(&i, COUNT))
                .map_or(0, |n| usize::try_from(n).unwrap_or(0)),
            // Dropped already as expired (or listed the old way, in `c`).
            Err(e) if is_conditional_check_failed(&e) => {
                self.connection_count(&connection.user_id).await?
            }
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
