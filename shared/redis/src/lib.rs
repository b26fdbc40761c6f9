//! # chat-redis
//!
//! Every store port of the chat backend on a Redis-compatible server (Redis
//! 7, Valkey, KeyDB, Dragonfly, ElastiCache, MemoryDB), so that several
//! gateway processes can share one state.
//!
//! Client: the `redis` crate's [`ConnectionManager`]: one multiplexed
//! connection per process that reconnects by itself, so a Redis restart
//! costs failed requests (503, retry) but no process restart. (`fred` would
//! do as well; `redis` is the more widely used and its scripts API is all
//! this needs.)
//!
//! Atomicity: every operation the ports document as atomic is one Lua script
//! ([`scripts`]) or a compare-and-set script over a value read just before
//! (retried when another writer got there first); never two writes a crash
//! could split. Key layout: [`keys`].

pub mod keys;
mod scripts;

mod connections;
mod messages;
mod otps;
mod rate;
mod receipts;
pub mod relay;
mod rooms;
mod tokens;
mod users;

use std::time::Duration;

use chat_core::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use keys::Keys;
pub use relay::RedisRelay;

/// Tries at a compare-and-set before answering "busy".
const CAS_ATTEMPTS: usize = 50;

/// The store: a connection and the key layout.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` for TLS) and
    /// keeps every key under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::internal_from(format!("REDIS_URL {url:?} is not valid"), e))?;
        // Reconnect attempts are spaced by the backoff crate's delays times
        // `factor`, from one second up: the default factor (100) makes a
        // request wait a minute or more behind a reconnect when Redis is
        // down. Short, capped pauses keep the answer a prompt 503.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_factor(1)
            .set_max_delay(200)
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| unavailable("connecting", e))?;
        Ok(Self {
            conn,
            keys: Keys::new(prefix),
        })
    }

    /// A connection handle (cheap: they share one multiplexed connection).
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Runs one command.
    async fn query<T: redis::FromRedisValue>(&self, what: &str, cmd: &redis::Cmd) -> Result<T> {
        cmd.query_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(what, e))
    }

    /// Runs a pipeline.
    async fn pipe<T: redis::FromRedisValue>(
        &self,
        what: &str,
        pipe: &redis::Pipeline,
    ) -> Result<T> {
        pipe.query_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(what, e))
    }

    /// Runs a script.
    async fn script<T: redis::FromRedisValue>(
        &self,
        what: &str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(what, e))
    }

    /// Reads a JSON value.
    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let raw: Option<String> = self.query("GET", redis::cmd("GET").arg(key)).await?;
        raw.map(|r| from_json(&r)).transpose()
    }

    /// Reads `key`, lets `change` decide on the value, and writes the result
    /// only if the key still holds what was read; again if it does not.
    /// `change` returns `None` to leave the key alone, with its answer.
    async fn compare_and_set<T, A>(
        &self,
        key: &str,
        mut change: impl FnMut(Option<T>) -> Result<(Option<T>, A)>,
    ) -> Result<A>
    where
        T: Serialize + DeserializeOwned,
    {
        for _ in 0..CAS_ATTEMPTS {
            let raw: Option<String> = self.query("GET", redis::cmd("GET").arg(key)).await?;
            let current = raw.as_deref().map(from_json).transpose()?;
            let (next, answer) = change(current)?;
            let Some(next) = next else {
                return Ok(answer);
            };
            let swapped: i64 = self
                .script(
                    "compare-and-set",
                    scripts::COMPARE_AND_SET
                        .key(key)
                        .arg(raw.unwrap_or_default())
                        .arg(to_json(&next)?),
                )
                .await?;
            if swapped == 1 {
                return Ok(answer);
            }
        }
        Err(Error::unavailable(format!(
            "{key} kept changing; try again"
        )))
    }
}

/// A Redis failure: worth retrying (503), with its cause kept for the log.
fn unavailable(what: &str, error: redis::RedisError) -> Error {
    Error::unavailable_from(format!("Redis {what}"), error)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal_from("encoding a stored value", e))
}

fn from_json<T: DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::internal_from("stored value is not valid", e))
}
