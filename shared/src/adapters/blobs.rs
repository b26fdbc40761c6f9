use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::local_media::{LocalUrls, LOCAL_URL_TTL_SECS};
use crate::domain::Timestamp;
use crate::ports::{Blob, BlobHead, BlobStore, UploadSlot, UNREFERENCED_UPLOAD_SECS};
use crate::{Error, Result};

/// Keeps blobs in memory; the local gateway serves them under `/media/`
/// and takes uploads under `/uploads/`, by signed URLs.
#[derive(Debug)]
pub struct MemoryBlobStore {
    urls: LocalUrls,
    blobs: RwLock<HashMap<String, Blob>>,
    /// Uploads no message took yet, with when they go.
    pending: RwLock<HashMap<String, Timestamp>>,
}

impl MemoryBlobStore {
    /// URLs are `{base_url}/media/{key}` and `{base_url}/uploads/{key}`,
    /// signed with a key derived from `secret`.
    pub fn new(base_url: impl Into<String>, secret: &[u8]) -> Self {
        Self {
            urls: LocalUrls::new(base_url, secret),
            blobs: RwLock::default(),
            pending: RwLock::default(),
        }
    }

    /// Signs and checks this store's URLs.
    pub fn urls(&self) -> &LocalUrls {
        &self.urls
    }

    /// The blob stored under `key`.
    pub fn get(&self, key: &str) -> Option<Blob> {
        self.blobs.read().ok()?.get(key).cloned()
    }

    /// Stores an upload under `key`, pending: it goes after
    /// [`UNREFERENCED_UPLOAD_SECS`] unless a message keeps it.
    pub fn upload(&self, key: &str, blob: Blob, now: Timestamp) -> Result<()> {
        self.pending
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?
            .insert(key.to_owned(), now.plus_secs(UNREFERENCED_UPLOAD_SECS));
        self.blobs
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?
            .insert(key.to_owned(), blob);
        Ok(())
    }

    /// Deletes the pending uploads whose time is up; returns how many.
    pub fn sweep(&self, now: Timestamp) -> Result<usize> {
        let mut pending = self
            .pending
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?;
        let due: Vec<String> = pending
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(key, _)| key.clone())
            .collect();
        let mut blobs = self
            .blobs
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?;
        for key in &due {
            pending.remove(key);
            blobs.remove(key);
        }
        Ok(due.len())
    }

    /// Every blob, sorted by key, to be saved with the store's snapshot.
    pub fn snapshot(&self) -> Result<Vec<StoredBlob>> {
        let blobs = self
            .blobs
            .read()
            .map_err(|_| Error::internal("blob lock poisoned"))?;
        let mut out: Vec<StoredBlob> = blobs
            .iter()
            .map(|(key, blob)| StoredBlob {
                key: key.clone(),
                content_type: blob.content_type.clone(),
                base64: base64::engine::general_purpose::STANDARD.encode(&blob.bytes),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Puts back what [`MemoryBlobStore::snapshot`] saved.
    pub fn restore(&self, saved: Vec<StoredBlob>) -> Result<()> {
        let mut blobs = self
            .blobs
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?;
        for stored in saved {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&stored.base64)
                .map_err(|e| Error::internal(format!("saved blob {}: {e}", stored.key)))?;
            blobs.insert(
                stored.key,
                Blob {
                    bytes: bytes.into(),
                    content_type: stored.content_type,
                },
            );
        }
        Ok(())
    }
}

/// A blob as saved to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredBlob {
    key: String,
    content_type: String,
    base64: String,
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &str, blob: Blob) -> Result<()> {
        self.blobs
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?
            .insert(key.to_owned(), blob);
        Ok(())
    }

    async fn url(&self, key: &str, now: Timestamp) -> Result<String> {
        Ok(self.urls.download(key, now.plus_secs(LOCAL_URL_TTL_SECS)))
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        _now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<UploadSlot> {
        Ok(self.urls.upload(key, content_type, size, expires_at))
    }

    async fn head(&self, key: &str, prefix: usize) -> Result<Option<BlobHead>> {
        Ok(self.get(key).map(|blob| head_of(&blob, prefix)))
    }

    async fn keep(&self, key: &str, keep: bool) -> Result<()> {
        let mut pending = self
            .pending
            .write()
            .map_err(|_| Error::internal("blob lock poisoned"))?;
        if keep {
            pending.remove(key);
        } else {
            pending.insert(
                key.to_owned(),
                system_now().plus_secs(UNREFERENCED_UPLOAD_SECS),
            );
        }
        Ok(())
    }
}

/// The head of a blob held whole.
pub(crate) fn head_of(blob: &Blob, prefix: usize) -> BlobHead {
    BlobHead {
        size: u64::try_from(blob.bytes.len()).unwrap_or(u64::MAX),
        content_type: blob.content_type.clone(),
        prefix: blob.bytes.slice(..prefix.min(blob.bytes.len())),
    }
}

/// The system's time, for marks with no request time at hand.
pub(crate) fn system_now() -> Timestamp {
    use crate::ports::Clock as _;
    super::SystemClock.now()
}
