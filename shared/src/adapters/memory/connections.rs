//! WebSocket connections.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::domain::{Connection, Timestamp, UserId};
use crate::ports::{AddConnection, ConnectionStore};
use crate::Result;

use super::MemoryStore;

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn add_connection(
        &self,
        connection: &Connection,
        now: Timestamp,
        limit: usize,
    ) -> Result<AddConnection> {
        let mut s = self.lock()?;
        // A connection whose close never came (a lost `$disconnect`) stops
        // counting when it expires; forget it here.
        let expired: Vec<String> = s
            .connections_by_user
            .get(&connection.user_id)
            .into_iter()
            .flatten()
            .filter(|id| s.connections.get(*id).is_none_or(|c| !c.is_live(now)))
            .cloned()
            .collect();
        for id in expired {
            s.connections.remove(&id);
            if let Some(ids) = s.connections_by_user.get_mut(&connection.user_id) {
                ids.remove(&id);
            }
        }
        if s.live_connections_of(&connection.user_id, now) >= limit {
            return Ok(AddConnection::Full);
        }
        s.connections
            .insert(connection.id.clone(), connection.clone());
        s.connections_by_user
            .entry(connection.user_id.clone())
            .or_default()
            .insert(connection.id.clone());
        Ok(AddConnection::Added {
            live: s.live_connections_of(&connection.user_id, now),
        })
    }

    async fn remove_connection(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Connection, usize)>> {
        let mut s = self.lock()?;
        let Some(connection) = s.connections.remove(id) else {
            return Ok(None);
        };
        if let Some(ids) = s.connections_by_user.get_mut(&connection.user_id) {
            ids.remove(id);
        }
        let remaining = s.live_connections_of(&connection.user_id, now);
        Ok(Some((connection, remaining)))
    }

    async fn connection(&self, id: &str, now: Timestamp) -> Result<Option<Connection>> {
        Ok(self
            .lock()?
            .connections
            .get(id)
            .filter(|c| c.is_live(now))
            .cloned())
    }

    async fn connections_of(&self, users: &[UserId], now: Timestamp) -> Result<Vec<Connection>> {
        let s = self.lock()?;
        let unique: BTreeSet<&UserId> = users.iter().collect();
        Ok(unique
            .into_iter()
            .filter_map(|u| s.connections_by_user.get(u))
            .flatten()
            .filter_map(|id| s.connections.get(id))
            .filter(|c| c.is_live(now))
            .cloned()
            .collect())
    }
}
