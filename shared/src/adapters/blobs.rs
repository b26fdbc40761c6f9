use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;
use crate::ports::{Blob, BlobStore};
use crate::{Error, Result};

/// Keeps blobs in memory; the local gateway serves them under `/media/`.
#[derive(Debug)]
pub struct MemoryBlobStore {
    base_url: String,
    blobs: RwLock<HashMap<String, Blob>>,
}

impl MemoryBlobStore {
    /// URLs are `{base_url}/media/{key}`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            blobs: RwLock::default(),
        }
    }

    /// The blob stored under `key`.
    pub fn get(&self, key: &str) -> Option<Blob> {
        self.blobs.read().ok()?.get(key).cloned()
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

    async fn url(&self, key: &str, _now: Timestamp) -> Result<String> {
        Ok(format!("{}/media/{key}", self.base_url))
    }
}
