use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::domain::{
    Connection, Member, Message, MessageId, Room, RoomId, Timestamp, User, UserId,
};
use crate::ports::{OtpRecord, Receipts, RefreshRecord, Successor};
use crate::{Error, Result};

mod connections;
mod messages;
mod otps;
mod rate;
mod receipts;
mod rooms;
mod snapshot;
mod tokens;
mod users;

pub use snapshot::{Snapshot, SnapshotError};

/// Above this many rate-limit windows, expired ones are swept.
const RATE_SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    user_by_email: HashMap<String, UserId>,
    user_by_username: HashMap<String, UserId>,
    otps: HashMap<String, OtpRecord>,
    refresh: HashMap<String, StoredRefresh>,
    revoked_families: HashMap<String, Timestamp>,
    /// (key, window start in seconds) → (hits, window end).
    rate: HashMap<(String, i64), (u32, Timestamp)>,
    rooms: HashMap<RoomId, Room>,
    direct_rooms: HashMap<String, RoomId>,
    members: HashMap<RoomId, BTreeMap<UserId, Member>>,
    rooms_by_user: HashMap<UserId, BTreeSet<RoomId>>,
    /// Each room's messages by `seq`.
    messages: HashMap<RoomId, BTreeMap<u64, Message>>,
    /// The `seq` of each message id.
    message_seqs: HashMap<(RoomId, MessageId), u64>,
    /// The `seq` of the message each (room, sender, client id) stored.
    client_ids: HashMap<(RoomId, UserId, String), u64>,
    /// Per room: the latest change number of each changed message → its seq.
    changes: HashMap<RoomId, BTreeMap<u64, u64>>,
    connections: HashMap<String, Connection>,
    connections_by_user: HashMap<UserId, BTreeSet<String>>,
    receipts: HashMap<RoomId, Receipts>,
    /// Whom each user blocks, and since when.
    blocking: HashMap<UserId, BTreeMap<UserId, Timestamp>>,
    /// Who blocks each user.
    blocked_by: HashMap<UserId, BTreeSet<UserId>>,
    /// The memberships whose member muted the room.
    muted: BTreeSet<(RoomId, UserId)>,
}

/// An issued refresh token: consumed or not, and what replaced it.
#[derive(Debug, Clone)]
struct StoredRefresh {
    record: RefreshRecord,
    used: bool,
    successor: Option<Successor>,
}

impl StoredRefresh {
    fn new(record: &RefreshRecord) -> Self {
        Self {
            record: record.clone(),
            used: false,
            successor: None,
        }
    }
}

impl State {
    fn live_connections_of(&self, user: &UserId, now: Timestamp) -> usize {
        self.connections_by_user.get(user).map_or(0, |ids| {
            ids.iter()
                .filter(|id| self.connections.get(*id).is_some_and(|c| c.is_live(now)))
                .count()
        })
    }

    fn insert_member(&mut self, member: &Member) {
        self.members
            .entry(member.room_id.clone())
            .or_default()
            .insert(member.user_id.clone(), member.clone());
        self.rooms_by_user
            .entry(member.user_id.clone())
            .or_default()
            .insert(member.room_id.clone());
    }
}

/// Makes the writes so far durable before a client is told about them: the
/// local gateway's `DATA_DIR` waits until a state file holding them is on
/// disk. Every write a client is answered for calls it once it is done
/// (not rate-limit counts, connections or last-seen times, which a crash
/// may lose without harm).
#[async_trait::async_trait]
pub trait Commit: Send + Sync {
    /// Returns once every write made before the call is durable.
    async fn commit(&self) -> Result<()>;
}

/// Every store port in one process-local, mutex-guarded state. Each
/// operation takes the lock once, so each is atomic like its DynamoDB twin.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    commit: Option<std::sync::Arc<dyn Commit>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// This store, making each answered write durable through `commit`.
    pub fn with_commit(mut self, commit: std::sync::Arc<dyn Commit>) -> Self {
        self.commit = Some(commit);
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::internal("memory store lock poisoned"))
    }

    /// Runs `write` (which takes the lock and releases it) and returns its
    /// outcome once the change is durable.
    async fn write<T>(&self, write: impl FnOnce() -> Result<T>) -> Result<T> {
        let outcome = write()?;
        if let Some(commit) = &self.commit {
            commit.commit().await?;
        }
        Ok(outcome)
    }
}
