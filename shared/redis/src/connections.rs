//! WebSocket connections, each expiring with API Gateway's two hours, and
//! each user's list of them.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chat_core::domain::{Connection, RoomId, Timestamp, UserId};
use chat_core::ports::{AddConnection, ConnectionStore};
use chat_core::Result;
use serde::{Deserialize, Serialize};

use crate::{from_json, scripts, to_json, RedisStore};

/// A connection as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    user_id: UserId,
    room_id: Option<RoomId>,
    connected_at: i64,
    expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family: Option<String>,
}

impl From<&Connection> for Stored {
    fn from(c: &Connection) -> Self {
        Self {
            id: c.id.clone(),
            user_id: c.user_id.clone(),
            room_id: c.room_id.clone(),
            connected_at: c.connected_at.millis(),
            expires_at: c.expires_at.millis(),
            family: c.family.clone(),
        }
    }
}

impl From<Stored> for Connection {
    fn from(s: Stored) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            room_id: s.room_id,
            connected_at: Timestamp::from_millis(s.connected_at),
            expires_at: Timestamp::from_millis(s.expires_at),
            family: s.family,
        }
    }
}

#[async_trait]
impl ConnectionStore for RedisStore {
    async fn add_connection(
        &self,
        connection: &Connection,
        now: Timestamp,
        limit: usize,
    ) -> Result<AddConnection> {
        let live: i64 = self
            .script(
                "add connection",
                scripts::ADD_CONNECTION
                    .key(self.keys.connection(&connection.id))
                    .key(self.keys.user_connections(&connection.user_id))
                    .arg(&connection.id)
                    .arg(to_json(&Stored::from(connection))?)
                    .arg(connection.expires_at.millis().max(1))
                    .arg(now.millis())
                    .arg(limit),
            )
            .await?;
        Ok(match usize::try_from(live) {
            Ok(live) => AddConnection::Added { live },
            Err(_) => AddConnection::Full,
        })
    }

    async fn remove_connection(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Connection, usize)>> {
        let key = self.keys.connection(id);
        let raw: Option<String> = self.query("GET", redis::cmd("GET").arg(&key)).await?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let connection: Connection = from_json::<Stored>(&raw)?.into();
        let left: i64 = self
            .script(
                "remove connection",
                scripts::REMOVE_CONNECTION
                    .key(&key)
                    .key(self.keys.user_connections(&connection.user_id))
                    .arg(id)
                    .arg(&raw)
                    .arg(now.millis()),
            )
            .await?;
        Ok(usize::try_from(left).ok().map(|left| (connection, left)))
    }

    async fn connection(&self, id: &str, now: Timestamp) -> Result<Option<Connection>> {
        Ok(self
            .get_json::<Stored>(&self.keys.connection(id))
            .await?
            .map(Connection::from)
            .filter(|c| c.is_live(now)))
    }

    async fn connections_of(&self, users: &[UserId], now: Timestamp) -> Result<Vec<Connection>> {
        let unique: BTreeSet<&UserId> = users.iter().collect();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for user in &unique {
            pipe.cmd("HGETALL").arg(self.keys.user_connections(user));
        }
        let lists: Vec<HashMap<String, i64>> = self.pipe("read connection lists", &pipe).await?;
        let ids: Vec<&String> = lists
            .iter()
            .flat_map(|list| list.iter())
            .filter(|(_, expires)| **expires > now.millis())
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut mget = redis::cmd("MGET");
        for id in &ids {
            mget.arg(self.keys.connection(id));
        }
        let found: Vec<Option<String>> = self.query("MGET", &mget).await?;
        let mut out = Vec::with_capacity(found.len());
        for raw in found.iter().flatten() {
            let connection: Connection = from_json::<Stored>(raw)?.into();
            if connection.is_live(now) {
                out.push(connection);
            }
        }
        Ok(out)
    }
}
