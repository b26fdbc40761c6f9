use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

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

/// How much may wait to be sent to one socket. A socket whose client does
/// not read falls behind; past either limit it is given up on: posts to it
/// report it gone and its writer is told to close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Frames waiting (at least 1).
    pub frames: usize,
    /// Bytes of text waiting.
    pub bytes: usize,
}

impl Default for QueueLimits {
    /// 4,096 frames or 4 MiB: the bytes bound the memory, the frames the
    /// bookkeeping of many small frames; bursts of a busy room fit.
    fn default() -> Self {
        Self {
            frames: 4096,
            bytes: 4 * 1024 * 1024,
        }
    }
}

/// The registry's end of one socket's queue.
#[derive(Debug)]
struct Outlet {
    tx: mpsc::Sender<SocketCommand>,
    queued_bytes: Arc<AtomicUsize>,
    overflow: watch::Sender<bool>,
}

impl Outlet {
    fn fell_behind(&self) -> bool {
        *self.overflow.borrow()
    }

    fn give_up(&self, id: &str) {
        if !self.overflow.send_replace(true) {
            tracing::warn!(
                connection = id,
                queued_bytes = self.queued_bytes.load(Ordering::Relaxed),
                "a socket fell behind (its client does not read); closing it"
            );
        }
    }
}

/// One socket's queue, as the task writing to the socket sees it.
#[derive(Debug)]
pub struct SocketQueue {
    rx: mpsc::Receiver<SocketCommand>,
    queued_bytes: Arc<AtomicUsize>,
    overflow: watch::Receiver<bool>,
}

impl SocketQueue {
    /// The next command; `None` once the socket was unregistered and
    /// everything queued before was taken.
    pub async fn recv(&mut self) -> Option<SocketCommand> {
        let command = self.rx.recv().await;
        self.taken(command.as_ref());
        command
    }

    /// The next command if one is queued.
    pub fn try_recv(&mut self) -> Option<SocketCommand> {
        let command = self.rx.try_recv().ok();
        self.taken(command.as_ref());
        command
    }

    fn taken(&self, command: Option<&SocketCommand>) {
        if let Some(SocketCommand::Send(text)) = command {
            self.queued_bytes.fetch_sub(text.len(), Ordering::Relaxed);
        }
    }

    /// Completes when the socket fell behind and must be closed.
    pub fn fell_behind(&self) -> FellBehind {
        FellBehind(self.overflow.clone())
    }
}

/// The signal that a socket's queue overflowed.
#[derive(Debug, Clone)]
pub struct FellBehind(watch::Receiver<bool>);

impl FellBehind {
    /// Waits for the overflow (forever if it never comes).
    pub async fn wait(&mut self) {
        if self.0.wait_for(|over| *over).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The embedded stand-in for API Gateway's connection registry: each open
/// local socket registers a bounded queue under its connection id, and
/// posting to the id feeds that queue. An unknown id, or one whose client
/// stopped reading until its queue filled ([`QueueLimits`]), is
/// [`Delivery::Gone`], as on AWS.
#[derive(Debug, Default)]
pub struct ChannelNotifier {
    sockets: RwLock<HashMap<String, Outlet>>,
    limits: QueueLimits,
}

impl ChannelNotifier {
    /// A registry whose sockets' queues hold at most `limits`.
    pub fn new(limits: QueueLimits) -> Self {
        Self {
            sockets: RwLock::default(),
            limits,
        }
    }

    /// Registers a socket; frames posted to `id` arrive on the returned queue.
    pub fn register(&self, id: &str) -> SocketQueue {
        let (tx, rx) = mpsc::channel(self.limits.frames.max(1));
        let (overflow_tx, overflow_rx) = watch::channel(false);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.insert(
                id.to_owned(),
                Outlet {
                    tx,
                    queued_bytes: queued_bytes.clone(),
                    overflow: overflow_tx,
                },
            );
        }
        SocketQueue {
            rx,
            queued_bytes,
            overflow: overflow_rx,
        }
    }

    /// Forgets a socket.
    pub fn unregister(&self, id: &str) {
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.remove(id);
        }
    }

    /// Whether a socket is registered under `id` and keeping up.
    pub fn is_open(&self, id: &str) -> bool {
        self.sockets.read().is_ok_and(|s| {
            s.get(id)
                .is_some_and(|o| !o.tx.is_closed() && !o.fell_behind())
        })
    }

    /// Asks the socket to close (after what is queued); false if it is unknown.
    pub fn close(&self, id: &str) -> bool {
        let Ok(sockets) = self.sockets.read() else {
            return false;
        };
        let Some(outlet) = sockets.get(id) else {
            return false;
        };
        Self::close_outlet(id, outlet)
    }

    /// Asks every socket to close.
    pub fn close_all(&self) {
        if let Ok(sockets) = self.sockets.read() {
            for (id, outlet) in sockets.iter() {
                Self::close_outlet(id, outlet);
            }
        }
    }

    fn close_outlet(id: &str, outlet: &Outlet) -> bool {
        match outlet.tx.try_send(SocketCommand::Close) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                outlet.give_up(id);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a frame for the socket, or reports it gone.
    fn send(&self, id: &str, text: String) -> Delivery {
        let Ok(sockets) = self.sockets.read() else {
            return Delivery::Gone;
        };
        let Some(outlet) = sockets.get(id) else {
            return Delivery::Gone;
        };
        if outlet.fell_behind() {
            return Delivery::Gone;
        }
        let size = text.len();
        let queued = outlet.queued_bytes.fetch_add(size, Ordering::Relaxed) + size;
        let outcome = if queued > self.limits.bytes {
            Err(true)
        } else {
            match outlet.tx.try_send(SocketCommand::Send(text)) {
                Ok(()) => Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => Err(true),
                Err(mpsc::error::TrySendError::Closed(_)) => Err(false),
            }
        };
        match outcome {
            Ok(()) => Delivery::Delivered,
            Err(overflowed) => {
                outlet.queued_bytes.fetch_sub(size, Ordering::Relaxed);
                if overflowed {
                    outlet.give_up(id);
                }
                Delivery::Gone
            }
        }
    }
}

#[async_trait]
impl Notifier for ChannelNotifier {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<Delivery> {
        let text = String::from_utf8(payload.to_vec())
            .map_err(|_| Error::internal("frames are UTF-8 JSON"))?;
        Ok(self.send(connection_id, text))
    }

    async fn close(&self, connection_id: &str) -> Result<()> {
        ChannelNotifier::close(self, connection_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_that_does_not_read_is_given_up_at_its_frame_limit() {
        let sockets = ChannelNotifier::new(QueueLimits {
            frames: 3,
            bytes: 1024,
        });
        let mut queue = sockets.register("c");
        let mut behind = queue.fell_behind();
        for _ in 0..3 {
            assert_eq!(sockets.send("c", "{}".into()), Delivery::Delivered);
        }
        assert_eq!(sockets.send("c", "{}".into()), Delivery::Gone);
        behind.wait().await;
        assert!(!sockets.is_open("c"));
        // Gone stays gone, even once the writer drained the queue.
        while queue.try_recv().is_some() {}
        assert_eq!(sockets.send("c", "{}".into()), Delivery::Gone);
    }

    #[tokio::test]
    async fn a_socket_is_given_up_at_its_byte_limit_and_reading_makes_room() {
        let sockets = ChannelNotifier::new(QueueLimits {
            frames: 100,
            bytes: 10,
        });
        let mut queue = sockets.register("c");
        assert_eq!(sockets.send("c", "12345".into()), Delivery::Delivered);
        assert_eq!(sockets.send("c", "12345".into()), Delivery::Delivered);
        assert_eq!(
            queue.recv().await,
            Some(SocketCommand::Send("12345".into()))
        );
        assert_eq!(sockets.send("c", "12345".into()), Delivery::Delivered);
        assert!(sockets.is_open("c"));
        assert_eq!(sockets.send("c", "1".into()), Delivery::Gone);
        assert!(!sockets.is_open("c"));
    }
}
