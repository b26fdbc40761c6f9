//! `DATA_DIR`: keeps the embedded run's state across restarts.
//!
//! The directory holds `state.json` (accounts, sessions, rooms, messages,
//! receipts and pictures, as [`chat_core::adapters::Snapshot`]) and
//! `jwt-secret` (the signing secret, created on first use unless
//! `JWT_SECRET` is set, so that tokens outlive a restart too).
//!
//! Nothing acknowledged is lost: a write a client is answered for (an
//! account, a verification, a session rotated or revoked, a room, a member,
//! a message, a watermark) returns only once a state file holding it is on
//! disk ([`Committer`]: written to a temporary file, `fsync`ed, renamed over
//! the old one, the directory `fsync`ed), so it survives `kill -9` and power
//! loss. Saves are grouped: one save serves every write that arrived while
//! the previous one ran, so concurrent clients share the cost. Rate-limit
//! counts, connections and last-seen times ride along with the next save.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::adapters::{
    Commit, MemoryBlobStore, MemoryStore, Snapshot, SnapshotError, StoredBlob,
};
use chat_core::config::Secret;
use chat_core::security::random;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

/// How long a write waits for its save before it is answered 503.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Group commit of the state file: each write takes a number, and returns
/// once a save that started after it finished.
#[derive(Debug)]
pub struct Committer {
    /// The number of the latest write.
    requested: AtomicU64,
    /// The latest write known to be on disk.
    saved: watch::Sender<u64>,
    /// Wakes the saver.
    wake: Notify,
}

impl Committer {
    /// A committer with nothing to save yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            requested: AtomicU64::new(0),
            saved: watch::channel(0).0,
            wake: Notify::new(),
        })
    }
}

#[async_trait::async_trait]
impl Commit for Committer {
    async fn commit(&self) -> chat_core::Result<()> {
        let mine = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let mut saved = self.saved.subscribe();
        let done = tokio::time::timeout(COMMIT_TIMEOUT, async {
            saved.wait_for(|s| *s >= mine).await.is_ok()
        })
        .await;
        if done == Ok(true) {
            Ok(())
        } else {
            Err(chat_core::Error::unavailable(
                "the local state could not be saved (see the gateway's log)",
            ))
        }
    }
}

/// What can go wrong with the data directory.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `state.json` is not a snapshot this version can read.
    #[error("{path} cannot be read back: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Saved {
    store: Snapshot,
    pictures: Vec<StoredBlob>,
}

/// The directory and the stores it keeps.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Uses `path`, creating it if needed.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(|source| DataDirError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path })
    }

    fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// The signing secret kept in the directory, created on first use.
    pub fn secret(&self) -> Result<Secret, DataDirError> {
        let path = self.path.join("jwt-secret");
        let io = |source| DataDirError::Io {
            path: path.clone(),
            source,
        };
        let unreadable = |reason: String| DataDirError::Unreadable {
            path: path.clone(),
            reason,
        };
        if !path.exists() {
            let mut bytes = [0u8; 48];
            random::fill(&mut bytes).map_err(|e| unreadable(e.to_string()))?;
            let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, text.as_bytes()).map_err(io)?;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        Secret::new(text.trim().as_bytes().to_vec()).map_err(unreadable)
    }

    /// The stores as last saved, or empty ones on first use.
    pub fn load(&self, blobs: &MemoryBlobStore) -> Result<MemoryStore, DataDirError> {
        let path = self.state_file();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MemoryStore::new()),
            Err(source) => return Err(DataDirError::Io { path, source }),
        };
        let unreadable = |reason: String| DataDirError::Unreadable {
            path: path.clone(),
            reason,
        };
        let saved: Saved = serde_json::from_slice(&text).map_err(|e| unreadable(e.to_string()))?;
        blobs
            .restore(saved.pictures)
            .map_err(|e| unreadable(e.to_string()))?;
        MemoryStore::from_snapshot(saved.store)
            .map_err(|e: SnapshotError| unreadable(e.to_string()))
    }

    /// The stores' state as the bytes [`DataDir::save`] writes.
    fn encode(store: &MemoryStore, blobs: &MemoryBlobStore) -> Result<Vec<u8>, String> {
        let saved = Saved {
            store: store.snapshot().map_err(|e| e.to_string())?,
            pictures: blobs.snapshot().map_err(|e| e.to_string())?,
        };
        serde_json::to_vec(&saved).map_err(|e| e.to_string())
    }

    /// Writes `bytes` as the state, atomically and durably: a temporary
    /// file, synced, renamed over the old one, and the directory synced so
    /// that the rename itself survives a power loss.
    fn write_state(&self, bytes: &[u8]) -> Result<(), DataDirError> {
        let path = self.state_file();
        let temporary = self.path.join("state.json.tmp");
        write_private(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .and_then(|()| std::fs::File::open(&self.path)?.sync_all())
            .map_err(|source| DataDirError::Io { path, source })
    }

    /// Saves the stores whenever `committer` has writes waiting, until
    /// `stop` completes (after the server has finished its last requests);
    /// then saves once more.
    pub async fn keep_saved(
        self,
        store: Arc<MemoryStore>,
        blobs: Arc<MemoryBlobStore>,
        committer: Arc<Committer>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let dir = Arc::new(self);
        let save = |dir: Arc<Self>, store: Arc<MemoryStore>, blobs: Arc<MemoryBlobStore>| async move {
            let written = tokio::task::spawn_blocking(move || {
                let bytes =
                    Self::encode(&store, &blobs).map_err(|reason| DataDirError::Unreadable {
                        path: dir.state_file(),
                        reason,
                    })?;
                dir.write_state(&bytes)
            })
            .await;
            match written {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    tracing::error!("saving the local state: {e}");
                    false
                }
                Err(e) => {
                    tracing::error!("saving the local state: {e}");
                    false
                }
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = committer.wake.notified() => {}
                () = &mut stop => break,
            }
            loop {
                // Every write numbered up to here changed the state before
                // taking its number, so this save holds all of them.
                let target = committer.requested.load(Ordering::SeqCst);
                if target <= *committer.saved.borrow() {
                    break;
                }
                if save(dir.clone(), store.clone(), blobs.clone()).await {
                    committer.saved.send_replace(target);
                } else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        save(dir, store, blobs).await;
    }
}

/// Writes a file readable by its owner only (it holds password hashes and
/// the signing secret).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
