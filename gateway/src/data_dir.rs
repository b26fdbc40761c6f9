//! `DATA_DIR`: keeps the embedded run's state across restarts.
//!
//! The directory holds `state.json` (accounts, sessions, rooms, messages,
//! receipts and pictures, as [`chat_core::adapters::Snapshot`]) and
//! `jwt-secret` (the signing secret, created on first use unless
//! `JWT_SECRET` is set, so that tokens outlive a restart too). The state is
//! written when it changed, at most every [`SAVE_EVERY`], and once more on
//! shutdown; each write goes to a temporary file renamed over the old one,
//! so a crash never leaves a half-written file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chat_core::adapters::{MemoryBlobStore, MemoryStore, Snapshot, SnapshotError, StoredBlob};
use chat_core::config::Secret;
use chat_core::security::random;
use serde::{Deserialize, Serialize};

/// How often changed state is written.
pub const SAVE_EVERY: Duration = Duration::from_secs(2);

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

    /// Writes `bytes` as the state, atomically.
    fn write_state(&self, bytes: &[u8]) -> Result<(), DataDirError> {
        let path = self.state_file();
        let temporary = self.path.join("state.json.tmp");
        write_private(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|source| DataDirError::Io { path, source })
    }

    /// Saves the stores every [`SAVE_EVERY`] when they changed, until
    /// `stop` completes (after the server has finished its last requests);
    /// then saves once more.
    pub async fn keep_saved(
        self,
        store: Arc<MemoryStore>,
        blobs: Arc<MemoryBlobStore>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let mut last: Option<Vec<u8>> = None;
        let mut save = |final_save: bool| match Self::encode(&store, &blobs) {
            Ok(bytes) if last.as_ref() != Some(&bytes) || final_save => {
                match self.write_state(&bytes) {
                    Ok(()) => last = Some(bytes),
                    Err(e) => tracing::error!("saving the local state: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!("saving the local state: {e}"),
        };
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(SAVE_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => save(false),
                () = &mut stop => break,
            }
        }
        save(true);
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
