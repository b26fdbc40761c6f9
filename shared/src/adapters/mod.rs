//! Embedded adapters: every port implemented in process, for the one-command
//! local run and for tests. They keep the same guarantees as the AWS adapters
//! (atomic multi-record changes, uniqueness, expiry checked on read).

mod blobs;
mod clock;
mod ids;
mod mail;
mod memory;
mod notifier;
mod unconfigured;

pub use blobs::{MemoryBlobStore, StoredBlob};
pub use clock::{ManualClock, SystemClock};
pub use ids::UlidGenerator;
pub use mail::{ConsoleMailer, RecordingMailer};
pub use memory::{MemoryStore, Snapshot, SnapshotError};
pub use notifier::{ChannelNotifier, SocketCommand};
pub use unconfigured::Unconfigured;
