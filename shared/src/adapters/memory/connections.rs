//! WebSocket connections.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::domain::{Connection, Timestamp, UserId};
use crate::ports::ConnectionStore;
use crate::Result;

use super::MemoryStore;

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn add_connection(&self, connection: &Connection, now: Timestamp) -> Result<usize> {
        let mut s = self.lock()?;
        s.connections
            .insert(connection.id.clone(), connection.clone());
        s.connections_by_user
            .entry(connection.user_id.clone())
            .or_default()
            .insert(connection.id.clone());
        Ok(s.live_connections_of(&connection.user_id, now))
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
