//! Blobs as files in a directory, for deployments without S3: every gateway
//! process that mounts the directory serves the same pictures.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::blobs::{head_of, system_now};
use super::local_media::{LocalUrls, LOCAL_URL_TTL_SECS};
use crate::domain::Timestamp;
use crate::ports::{Blob, BlobHead, BlobStore, UploadSlot, UNREFERENCED_UPLOAD_SECS};
use crate::{Error, Result};

/// Keeps each blob in one file (`<content type>\n<bytes>`), written
/// atomically; the local gateway serves them under `/media/`.
///
/// An upload no message took yet has a marker file beside it
/// (`<key>.pending`, holding when it goes, in milliseconds).
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    dir: PathBuf,
    urls: LocalUrls,
}

/// The suffix of a pending upload's marker file.
const PENDING: &str = ".pending";

impl FileBlobStore {
    /// Blobs under `dir` (created if missing); URLs are
    /// `{base_url}/media/{key}` and `{base_url}/uploads/{key}`, signed with
    /// a key derived from `secret` (the same in every process).
    pub fn open(
        dir: impl Into<PathBuf>,
        base_url: impl Into<String>,
        secret: &[u8],
    ) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::internal_from(format!("creating {}", dir.display()), e))?;
        Ok(Self {
            dir,
            urls: LocalUrls::new(base_url, secret),
        })
    }

    /// Signs and checks this store's URLs.
    pub fn urls(&self) -> &LocalUrls {
        &self.urls
    }

    /// Stores an upload under `key`, pending: it goes after
    /// [`UNREFERENCED_UPLOAD_SECS`] unless a message keeps it.
    pub async fn upload(&self, key: &str, blob: Blob, now: Timestamp) -> Result<()> {
        self.mark_pending(key, now.plus_secs(UNREFERENCED_UPLOAD_SECS))
            .await?;
        self.put(key, blob).await
    }

    async fn mark_pending(&self, key: &str, until: Timestamp) -> Result<()> {
        let marker = self
            .path(&format!("{key}{PENDING}"))
            .ok_or_else(|| Error::internal(format!("blob key {key:?} is not a plain path")))?;
        write_atomically(&marker, until.millis().to_string().into_bytes()).await
    }

    /// Deletes the pending uploads whose time is up; returns how many.
    pub async fn sweep(&self, now: Timestamp) -> Result<usize> {
        let mut swept = 0;
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(Error::internal_from(
                        format!("listing {}", dir.display()),
                        e,
                    ))
                }
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| Error::internal_from(format!("listing {}", dir.display()), e))?
            {
                let path = entry.path();
                if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
                    dirs.push(path);
                    continue;
                }
                let Some(blob) = path.to_str().and_then(|p| p.strip_suffix(PENDING)) else {
                    continue;
                };
                let until = tokio::fs::read_to_string(&path)
                    .await
                    .ok()
                    .and_then(|raw| raw.trim().parse::<i64>().ok())
                    .map(Timestamp::from_millis);
                if until.is_some_and(|until| until <= now) {
                    remove_if_there(Path::new(blob)).await?;
                    remove_if_there(&path).await?;
                    swept += 1;
                }
            }
        }
        Ok(swept)
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

/// Removes a file; one that is gone already is fine.
async fn remove_if_there(path: &Path) -> Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::internal_from(
            format!("removing {}", path.display()),
            e,
        )),
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
        Ok(self.get(key).await?.map(|blob| head_of(&blob, prefix)))
    }

    async fn keep(&self, key: &str, keep: bool) -> Result<()> {
        if keep {
            let marker = self
                .path(&format!("{key}{PENDING}"))
                .ok_or_else(|| Error::internal(format!("blob key {key:?} is not a plain path")))?;
            remove_if_there(&marker).await
        } else {
            self.mark_pending(key, system_now().plus_secs(UNREFERENCED_UPLOAD_SECS))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_keys_stay_inside() -> Result<()> {
        let dir =
            std::env::temp_dir().join(format!("blobs-{}", crate::security::random::token_id()?));
        let store = FileBlobStore::open(&dir, "http://127.0.0.1:8000/", &[7; 32])?;
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
        assert!(store
            .url("profile-pictures/U1", Timestamp::from_millis(0))
            .await?
            .starts_with("http://127.0.0.1:8000/media/profile-pictures/U1?exp=900&sig="));

        // An upload no message keeps goes when its time is up; a kept one stays.
        let now = Timestamp::from_millis(1_000_000);
        store.upload("attachments/R/U/A", blob.clone(), now).await?;
        store.upload("attachments/R/U/B", blob.clone(), now).await?;
        store.keep("attachments/R/U/B", true).await?;
        let head = store.head("attachments/R/U/A", 3).await?;
        assert_eq!(
            head.map(|h| (h.size, h.prefix)),
            Some((23, bytes::Bytes::from_static(b"PNG")))
        );
        assert_eq!(store.sweep(now).await?, 0, "not yet");
        let later = now.plus_secs(UNREFERENCED_UPLOAD_SECS);
        assert_eq!(store.sweep(later).await?, 1);
        assert!(store.get("attachments/R/U/A").await?.is_none());
        assert!(store.get("attachments/R/U/B").await?.is_some());
        for bad in ["../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", ""] {
            assert!(store.get(bad).await?.is_none(), "{bad}");
            assert!(store.put(bad, blob.clone()).await.is_err(), "{bad}");
        }
        assert!(store.get("profile-pictures/none").await?.is_none());
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
