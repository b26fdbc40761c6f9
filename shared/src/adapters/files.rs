//! Blobs as files in a directory, for deployments without S3: every gateway
//! process that mounts the directory serves the same pictures.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::ports::{Blob, BlobStore};
use crate::{Error, Result};

/// Keeps each blob in one file (`<content type>\n<bytes>`), written
/// atomically; the local gateway serves them under `/media/`.
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    dir: PathBuf,
    base_url: String,
}

impl FileBlobStore {
    /// Blobs under `dir` (created if missing); URLs are `{base_url}/media/{key}`.
    pub fn open(dir: impl Into<PathBuf>, base_url: impl Into<String>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::internal_from(format!("creating {}", dir.display()), e))?;
        Ok(Self {
            dir,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
        })
    }

    /// The file of `key`, if `key` is a plain relative path (segments of
    /// letters, digits, `.`, `_` and `-`; no `.` or `..`), so that no key
    /// reaches outside the directory.
    fn path(&self, key: &str) -> Option<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        safe.then(|| self.dir.join(key))
    }

    /// The blob stored under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Blob>> {
        let Some(path) = self.path(key) else {
            return Ok(None);
        };
        let raw = match tokio::fs::read(&path).await {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::internal_from(
                    format!("reading {}", path.display()),
                    e,
                ))
            }
        };
        let Some(split) = raw.iter().position(|b| *b == b'\n') else {
            return Err(Error::internal(format!(
                "{} is not a stored blob",
                path.display()
            )));
        };
        let content_type = String::from_utf8_lossy(&raw[..split]).into_owned();
        Ok(Some(Blob {
            bytes: bytes::Bytes::copy_from_slice(&raw[split + 1..]),
            content_type,
        }))
    }
}

/// Writes `contents` to `path` through a temporary file and a rename.
async fn write_atomically(path: &Path, contents: Vec<u8>) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| Error::internal_from(format!("creating {}", parent.display()), e))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", crate::security::random::token_id()?));
    let temporary = PathBuf::from(temporary);
    tokio::fs::write(&temporary, contents)
        .await
        .map_err(|e| Error::internal_from(format!("writing {}", temporary.display()), e))?;
    tokio::fs::rename(&temporary, path)
        .await
        .map_err(|e| Error::internal_from(format!("renaming to {}", path.display()), e))
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn put(&self, key: &str, blob: Blob) -> Result<()> {
        let path = self
            .path(key)
            .ok_or_else(|| Error::internal(format!("blob key {key:?} is not a plain path")))?;
        let mut contents = Vec::with_capacity(blob.content_type.len() + 1 + blob.bytes.len());
        contents.extend_from_slice(blob.content_type.as_bytes());
        contents.push(b'\n');
        contents.extend_from_slice(&blob.bytes);
        write_atomically(&path, contents).await
    }

    async fn url(&self, key: &str, _now: Timestamp) -> Result<String> {
        Ok(format!("{}/media/{key}", self.base_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_keys_stay_inside() -> Result<()> {
        let dir =
            std::env::temp_dir().join(format!("blobs-{}", crate::security::random::token_id()?));
        let store = FileBlobStore::open(&dir, "http://127.0.0.1:8000/")?;
        let blob = Blob {
            bytes: bytes::Bytes::from_static(b"PNG\nbytes with\nnewlines"),
            content_type: "image/png".into(),
        };
        store.put("profile-pictures/U1", blob.clone()).await?;
        let read = store
            .get("profile-pictures/U1")
            .await?
            .ok_or("stored")
            .map_err(Error::internal)?;
        assert_eq!(
            (read.bytes, read.content_type),
            (blob.bytes.clone(), blob.content_type.clone())
        );
        assert_eq!(
            store
                .url("profile-pictures/U1", Timestamp::from_millis(0))
                .await?,
            "http://127.0.0.1:8000/media/profile-pictures/U1"
        );
        for bad in ["../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", ""] {
            assert!(store.get(bad).await?.is_none(), "{bad}");
            assert!(store.put(bad, blob.clone()).await.is_err(), "{bad}");
        }
        assert!(store.get("profile-pictures/none").await?.is_none());
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
