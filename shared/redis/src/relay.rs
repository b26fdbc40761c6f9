//! Fan-out across gateway processes. Each process holds its own sockets
//! (a [`ChannelNotifier`]) and tells Redis which connections it holds.
//!
//! - A stored message is published by the script that stores it (on
//!   `<prefix>:messages`); every process follows that channel and pushes
//!   the message to the members' sockets it holds, so storing, numbering and
//!   publishing are one step, and a message is published once however many
//!   processes and sockets there are.
//! - Any other push to a connection held elsewhere (presence, typing,
//!   receipts, `@connections`) is published on the holding process's own
//!   channel, which that process relays to the socket.
//! - A process that stops saying it is alive is swept by the others: its
//!   connections are disconnected (the users' contacts see them go offline).
//!
//! Pub/sub is at-most-once: a publish lost while a process resubscribes is
//! not retried. The client sees a gap in the room's `seq` and syncs (the
//! README's reconnect recipe), so nothing stored is lost to it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::adapters::ChannelNotifier;
use chat_core::domain::{Connection, Message};
use chat_core::ports::{Delivery, Notifier};
use chat_core::security::random;
use chat_core::usecases::realtime;
use chat_core::{Ctx, Error, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::{from_json, to_json, RedisStore};

/// How long a process's claim on a connection lasts (API Gateway's limit).
const CLAIM_MS: u64 = 2 * 3600 * 1000;
/// How often a process says it is alive (and sweeps dead ones), and how
/// long that lasts.
const HEARTBEAT: Duration = Duration::from_secs(5);
const ALIVE_MS: u64 = 15_000;
/// Stored messages whose audience is looked up at once.
const LOOKAHEAD: usize = 64;

/// What travels on a process's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "lowercase")]
enum Relayed {
    /// Send a text frame to a socket.
    Send { to: String, text: String },
    /// Close a socket.
    Close { to: String },
}

/// What the append script publishes: the message as stored, and its seq.
#[derive(Debug, Deserialize)]
struct Appended {
    seq: u64,
    message: Message,
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
    /// Joins the processes sharing `store`'s server. `local` holds this
    /// process's sockets. Nothing is relayed until [`RedisRelay::run`].
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
        Ok(relay)
    }

    /// Follows the stored messages and this process's channel (subscribing
    /// again, backing off, whenever the subscription breaks), and keeps
    /// saying this process is alive. `ctx` is the context whose notifier is
    /// this relay.
    pub fn run(self: &Arc<Self>, ctx: Ctx) {
        tokio::spawn(self.clone().listen(ctx.clone()));
        tokio::spawn(self.clone().keep_alive(ctx));
    }

    /// This process's name among the others.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Records that this process holds `connection` (before its `$connect`,
    /// so that nothing posted right after is lost).
    pub async fn claim(&self, connection: &str) -> Result<()> {
        let keys = &self.store.keys;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(keys.connection_node(connection))
            .arg(&self.node)
            .arg("PX")
            .arg(CLAIM_MS)
            .ignore()
            .cmd("SADD")
            .arg(keys.node_connections(&self.node))
            .arg(connection)
            .ignore();
        self.store.pipe("claim connection", &pipe).await
    }

    /// Forgets this process's claim on `connection`.
    pub async fn release(&self, connection: &str) {
        let keys = &self.store.keys;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(keys.connection_node(connection))
            .ignore()
            .cmd("SREM")
            .arg(keys.node_connections(&self.node))
            .arg(connection)
            .ignore();
        let released: Result<()> = self.store.pipe("release connection", &pipe).await;
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
                    .arg(self.store.keys.node_channel(&owner))
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

    /// Says this process is alive; true when it had been swept as dead
    /// meanwhile (it was too slow to say so).
    async fn heartbeat(&self) -> Result<bool> {
        let keys = &self.store.keys;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(keys.node_alive(&self.node))
            .arg("1")
            .arg("PX")
            .arg(ALIVE_MS)
            .ignore()
            .cmd("SADD")
            .arg(keys.nodes())
            .arg(&self.node);
        let (added,): (u32,) = self.store.pipe("heartbeat", &pipe).await?;
        Ok(added == 1)
    }

    async fn keep_alive(self: Arc<Self>, ctx: Ctx) {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            match self.heartbeat().await {
                Ok(true) => {
                    // Its connections were disconnected in the store: close
                    // the sockets, whose clients reconnect and sync.
                    tracing::warn!("this process was taken for dead; closing its sockets");
                    self.local.close_all();
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "heartbeat to Redis failed"),
            }
            if let Err(e) = self.sweep(&ctx).await {
                tracing::warn!(error = %e, "sweeping dead processes failed");
            }
        }
    }

    /// Disconnects the connections of processes that stopped saying they
    /// are alive. Of the processes sweeping at once, the one that removes a
    /// dead process from the set does its connections.
    async fn sweep(&self, ctx: &Ctx) -> Result<()> {
        let keys = &self.store.keys;
        let nodes: Vec<String> = self
            .store
            .query("SMEMBERS", redis::cmd("SMEMBERS").arg(keys.nodes()))
            .await?;
        for node in nodes.iter().filter(|n| **n != self.node) {
            let alive: bool = self
                .store
                .query("EXISTS", redis::cmd("EXISTS").arg(keys.node_alive(node)))
                .await?;
            if alive {
                continue;
            }
            let mine: u32 = self
                .store
                .query("SREM", redis::cmd("SREM").arg(keys.nodes()).arg(node))
                .await?;
            if mine == 0 {
                continue;
            }
            let held: Vec<String> = self
                .store
                .query(
                    "SMEMBERS",
                    redis::cmd("SMEMBERS").arg(keys.node_connections(node)),
                )
                .await?;
            tracing::info!(process = %node, connections = held.len(), "sweeping a dead process");
            for connection in &held {
                realtime::disconnect(ctx, connection).await?;
                let _: () = self
                    .store
                    .query(
                        "DEL",
                        redis::cmd("DEL").arg(keys.connection_node(connection)),
                    )
                    .await?;
            }
            let _: () = self
                .store
                .query("DEL", redis::cmd("DEL").arg(keys.node_connections(node)))
                .await?;
        }
        Ok(())
    }

    /// Relays what arrives on this process's channel to its sockets, pushes
    /// each stored message to the sockets it holds, and subscribes again
    /// (backing off) whenever the subscription breaks.
    ///
    /// One subscription for both, and one ordered pipeline: the audience of
    /// up to [`LOOKAHEAD`] messages is looked up at once, but everything is
    /// pushed in the order it arrived, so a room's messages reach a socket
    /// in `seq` order and a receipt relayed after a message arrives after it.
    async fn listen(self: Arc<Self>, ctx: Ctx) {
        let own = self.store.keys.node_channel(&self.node);
        let messages = self.store.keys.messages_channel();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&[&own, &messages]).await {
                    Ok(()) => {
                        pause = Duration::from_millis(100);
                        let mut ready = pubsub
                            .on_message()
                            .map(|frame| {
                                let payload = frame.get_payload::<String>().ok();
                                let stored = frame.get_channel_name() == messages;
                                self.prepare(&ctx, payload, stored)
                            })
                            .buffered(LOOKAHEAD);
                        while let Some(next) = ready.next().await {
                            self.handle(&ctx, next).await;
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

    /// Reads a frame, and for a stored message looks up its audience.
    async fn prepare(&self, ctx: &Ctx, payload: Option<String>, stored: bool) -> Ready {
        let Some(payload) = payload else {
            tracing::warn!("unreadable frame on a relay channel");
            return Ready::Nothing;
        };
        if !stored {
            return match from_json::<Relayed>(&payload) {
                Ok(relayed) => Ready::Relay(relayed),
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable frame on the relay channel");
                    Ready::Nothing
                }
            };
        }
        let Appended { seq, message } = match from_json::<Appended>(&payload) {
            Ok(appended) => appended,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable stored message on the relay");
                return Ready::Nothing;
            }
        };
        let message = Message { seq, ..message };
        match realtime::room_connections(ctx, &message.room_id).await {
            Ok(audience) => Ready::Push(Box::new(message), audience),
            Err(e) => {
                // Its members' clients see the gap at the next message and sync.
                tracing::warn!(error = %e, message = %message.id, "fan-out failed");
                Ready::Nothing
            }
        }
    }

    async fn handle(&self, ctx: &Ctx, ready: Ready) {
        match ready {
            Ready::Push(message, audience) => {
                let local = self.local.clone();
                let held = move |c: &Connection| local.is_open(&c.id);
                let outcomes = realtime::push_message(ctx, &message, &audience, &held).await;
                // Recording and announcing delivery waits on Redis: off the
                // pipeline, so the next messages are not held up by it.
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    realtime::report_delivery(&ctx, &message, &audience, &outcomes, &held).await;
                });
            }
            Ready::Relay(Relayed::Send { to, text }) => {
                // A socket closed meanwhile: its client will sync on reconnect.
                let _ = self.local.post(&to, text.as_bytes()).await;
            }
            Ready::Relay(Relayed::Close { to }) => {
                self.local.close(&to);
            }
            Ready::Nothing => {}
        }
    }
}

/// A frame from the channels, ready to be acted on in order.
enum Ready {
    /// A stored message and the connections that want it.
    Push(Box<Message>, Vec<Connection>),
    /// A frame or close for a socket this process holds.
    Relay(Relayed),
    /// Nothing to do (unreadable, or its audience could not be read).
    Nothing,
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

    async fn close(&self, connection_id: &str) -> Result<()> {
        RedisRelay::close(self, connection_id).await.map(|_| ())
    }

    fn pushes_stored_messages(&self) -> bool {
        true
    }
}
