use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;

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
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &str, blob: Blob) -> Result<()> {
        self.blobs
            .write()
            .map_err(|_| Error::Internal("blob lock poisoned".into()))?
            .insert(key.to_owned(), blob);
        Ok(())
    }

    async fn url(&self, key: &str, _now: Timestamp) -> Result<String> {
        Ok(format!("{}/media/{key}", self.base_url))
    }
}
