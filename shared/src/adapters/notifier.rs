use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::ports::{Delivery, Notifier};
use crate::{Error, Result};

/// What a local socket is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketCommand {
    /// Send this text frame.
    Send(String),
    /// Close the socket (the management API's DELETE).
    Close,
}

/// The embedded stand-in for API Gateway's connection registry: each open
/// local socket registers a channel under its connection id, and posting to
/// the id feeds that channel. An unknown id is [`Delivery::Gone`], as on AWS.
#[derive(Debug, Default)]
pub struct ChannelNotifier {
    sockets: RwLock<HashMap<String, mpsc::UnboundedSender<SocketCommand>>>,
}

impl ChannelNotifier {
    /// Registers a socket; frames posted to `id` arrive on the returned receiver.
    pub fn register(&self, id: &str) -> mpsc::UnboundedReceiver<SocketCommand> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.insert(id.to_owned(), tx);
        }
        rx
    }

    /// Forgets a socket.
    pub fn unregister(&self, id: &str) {
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.remove(id);
        }
    }

    /// Whether a socket is registered under `id`.
    pub fn is_open(&self, id: &str) -> bool {
        self.sockets
            .read()
            .is_ok_and(|s| s.get(id).is_some_and(|tx| !tx.is_closed()))
    }

    /// Asks the socket to close; false if it is unknown.
    pub fn close(&self, id: &str) -> bool {
        self.command(id, SocketCommand::Close)
    }

    /// Asks every socket to close.
    pub fn close_all(&self) {
        if let Ok(sockets) = self.sockets.read() {
            for tx in sockets.values() {
                let _ = tx.send(SocketCommand::Close);
            }
        }
    }

    fn command(&self, id: &str, command: SocketCommand) -> bool {
        self.sockets
            .read()
            .ok()
            .and_then(|s| s.get(id).map(|tx| tx.send(command).is_ok()))
            .unwrap_or(false)
    }
}

#[async_trait]
impl Notifier for ChannelNotifier {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<Delivery> {
        let text = String::from_utf8(payload.to_vec())
            .map_err(|_| Error::internal("frames are UTF-8 JSON"))?;
        Ok(if self.command(connection_id, SocketCommand::Send(text)) {
            Delivery::Delivered
        } else {
            Delivery::Gone
        })
    }
}
