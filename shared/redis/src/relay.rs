//! Fan-out across gateway processes. Each process holds its own sockets
//! (a [`ChannelNotifier`]) and tells Redis which connections it holds; a
//! push to a connection held elsewhere is published on that process's
//! channel, and each process relays what arrives on its channel to its
//! sockets. So a message sent through any process reaches every member's
//! sockets, wherever they are connected, as `@connections` does on AWS.
//!
//! Pub/sub is at-most-once: a publish lost while a process resubscribes is
//! not retried. The client sees a gap in the room's `seq` and syncs (the
//! README's reconnect recipe), so nothing stored is lost to it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::adapters::ChannelNotifier;
use chat_core::ports::{Delivery, Notifier};
use chat_core::security::random;
use chat_core::{Error, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::{to_json, RedisStore};

/// How long a process's claim on a connection lasts (API Gateway's limit).
const CLAIM_MS: u64 = 2 * 3600 * 1000;
/// How often a process says it is alive, and how long that lasts.
const HEARTBEAT: Duration = Duration::from_secs(5);
const ALIVE_MS: u64 = 15_000;

/// What travels on a process's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "lowercase")]
enum Relayed {
    /// Send a text frame to a socket.
    Send { to: String, text: String },
    /// Close a socket.
    Close { to: String },
}

/// The pushes of one gateway process.
#[derive(Debug)]
pub struct RedisRelay {
    store: RedisStore,
    client: redis::Client,
    node: String,
    local: Arc<ChannelNotifier>,
}

impl RedisRelay {
    /// Joins the processes sharing `store`'s server: subscribes to this
    /// process's channel (resubscribing by itself after a failure) and keeps
    /// saying it is alive. `local` holds this process's sockets.
    pub async fn start(
        url: &str,
        store: RedisStore,
        local: Arc<ChannelNotifier>,
    ) -> Result<Arc<Self>> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::internal_from(format!("REDIS_URL {url:?} is not valid"), e))?;
        let node = random::token_id()?;
        let relay = Arc::new(Self {
            store,
            client,
            node,
            local,
        });
        relay.heartbeat().await?;
        tokio::spawn(relay.clone().listen());
        tokio::spawn(relay.clone().keep_alive());
        Ok(relay)
    }

    /// This process's name among the others.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.store.keys.prefix())
    }

    /// Records that this process holds `connection` (before its `$connect`,
    /// so that nothing posted right after is lost).
    pub async fn claim(&self, connection: &str) -> Result<()> {
        self.store
            .query(
                "claim connection",
                redis::cmd("SET")
                    .arg(self.store.keys.connection_node(connection))
                    .arg(&self.node)
                    .arg("PX")
                    .arg(CLAIM_MS),
            )
            .await
    }

    /// Forgets this process's claim on `connection`.
    pub async fn release(&self, connection: &str) {
        let released: Result<()> = self
            .store
            .query(
                "release connection",
                redis::cmd("DEL").arg(self.store.keys.connection_node(connection)),
            )
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, connection, "could not release a connection");
        }
    }

    /// Closes `connection` wherever it is held; false if no process holds it.
    pub async fn close(&self, connection: &str) -> Result<bool> {
        if self.local.close(connection) {
            return Ok(true);
        }
        self.relay(
            connection,
            &Relayed::Close {
                to: connection.to_owned(),
            },
        )
        .await
        .map(|d| d == Delivery::Delivered)
    }

    /// Whether some process holds `connection`.
    pub async fn is_open(&self, connection: &str) -> Result<bool> {
        if self.local.is_open(connection) {
            return Ok(true);
        }
        Ok(self.owner(connection).await?.is_some())
    }

    /// The process holding `connection`, if any.
    async fn owner(&self, connection: &str) -> Result<Option<String>> {
        self.store
            .query(
                "GET",
                redis::cmd("GET").arg(self.store.keys.connection_node(connection)),
            )
            .await
    }

    /// Publishes `what` to the process holding `connection`.
    async fn relay(&self, connection: &str, what: &Relayed) -> Result<Delivery> {
        let owner = self.owner(connection).await?;
        let Some(owner) = owner.filter(|o| *o != self.node) else {
            return Ok(Delivery::Gone);
        };
        let receivers: i64 = self
            .store
            .query(
                "PUBLISH",
                redis::cmd("PUBLISH")
                    .arg(self.channel(&owner))
                    .arg(to_json(what)?),
            )
            .await?;
        if receivers > 0 {
            return Ok(Delivery::Delivered);
        }
        let alive: bool = self
            .store
            .query(
                "EXISTS",
                redis::cmd("EXISTS").arg(self.store.keys.node_alive(&owner)),
            )
            .await?;
        if alive {
            // Alive but resubscribing: the frame is lost, the connection is not.
            Err(Error::unavailable(format!(
                "process {owner} is resubscribing"
            )))
        } else {
            Ok(Delivery::Gone)
        }
    }

    async fn heartbeat(&self) -> Result<()> {
        self.store
            .query(
                "heartbeat",
                redis::cmd("SET")
                    .arg(self.store.keys.node_alive(&self.node))
                    .arg("1")
                    .arg("PX")
                    .arg(ALIVE_MS),
            )
            .await
    }

    async fn keep_alive(self: Arc<Self>) {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = self.heartbeat().await {
                tracing::warn!(error = %e, "heartbeat to Redis failed");
            }
        }
    }

    /// Relays what arrives on this process's channel to its sockets, and
    /// subscribes again (backing off) whenever the subscription breaks.
    async fn listen(self: Arc<Self>) {
        let channel = self.channel(&self.node);
        let mut pause = Duration::from_millis(100);
        loop {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        pause = Duration::from_millis(100);
                        let mut messages = pubsub.on_message();
                        while let Some(message) = messages.next().await {
                            match message
                                .get_payload::<String>()
                                .map(|p| serde_json::from_str(&p))
                            {
                                Ok(Ok(relayed)) => self.deliver(relayed).await,
                                _ => tracing::warn!("unreadable frame on the relay channel"),
                            }
                        }
                        tracing::warn!("relay subscription ended; subscribing again");
                    }
                    Err(e) => tracing::warn!(error = %e, "relay subscribe failed"),
                },
                Err(e) => tracing::warn!(error = %e, "relay connection failed"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    async fn deliver(&self, relayed: Relayed) {
        match relayed {
            Relayed::Send { to, text } => {
                // A socket closed meanwhile: its client will sync on reconnect.
                let _ = self.local.post(&to, text.as_bytes()).await;
            }
            Relayed::Close { to } => {
                self.local.close(&to);
            }
        }
    }
}

#[async_trait]
impl Notifier for RedisRelay {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<Delivery> {
        if self.local.is_open(connection_id) {
            return self.local.post(connection_id, payload).await;
        }
        let text = String::from_utf8(payload.to_vec())
            .map_err(|_| Error::internal("frames are UTF-8 JSON"))?;
        self.relay(
            connection_id,
            &Relayed::Send {
                to: connection_id.to_owned(),
                text,
            },
        )
        .await
    }
}
