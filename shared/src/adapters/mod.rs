//! Embedded adapters: every port implemented in process, for the one-command
//! local run and for tests. They keep the same guarantees as the AWS adapters
//! (atomic multi-record changes, uniqueness, expiry checked on read).

mod blobs;
mod clock;
mod files;
mod ids;
pub mod local_media;
mod mail;
mod memory;
mod notifier;
mod unconfigured;

pub use blobs::{MemoryBlobStore, StoredBlob};
pub use clock::{ManualClock, SystemClock};
pub use files::FileBlobStore;
pub use ids::UlidGenerator;
pub use mail::{ConsoleMailer, RecordingMailer};
pub use memory::{Commit, MemoryStore, Snapshot, SnapshotError};
pub use notifier::{ChannelNotifier, FellBehind, QueueLimits, SocketCommand, SocketQueue};
pub use unconfigured::Unconfigured;

use std::sync::Arc;

use crate::config::Config;
use crate::Ctx;

/// A context entirely on embedded adapters: in-memory store and blobs, mail
/// printed to the console, the system clock, ULIDs. Blob URLs start with
/// `public_base_url`.
pub fn embedded_context(config: &Config, public_base_url: &str) -> Ctx {
    Ctx::with_store(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(ChannelNotifier::default()),
        Arc::new(ConsoleMailer),
        Arc::new(MemoryBlobStore::new(
            public_base_url,
            config.jwt_secret.expose(),
        )),
        Arc::new(SystemClock),
        Arc::new(UlidGenerator::default()),
    )
}
