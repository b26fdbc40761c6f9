//! Profile pictures and attachments in S3: stored under their key with
//! their content type; clients get time-limited presigned GET URLs, and
//! upload attachments themselves through presigned PUT URLs that fix the
//! type and size. An upload is tagged `state=pending` (the PUT URL requires
//! the tag): the bucket's lifecycle rule deletes pending objects after a
//! day, and a message taking one retags it `state=kept`.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};
use aws_sdk_s3::Client;
use chat_core::domain::Timestamp;
use chat_core::ports::{Blob, BlobHead, BlobStore, UploadSlot};
use chat_core::{Error, Result};

use crate::sdk_error::translate;

/// A bucket of pictures.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    url_ttl: Duration,
}

/// The tag of an upload no message took yet (the lifecycle rule's filter).
pub const PENDING_TAG: &str = "state=pending";

/// A presigning configuration from `now` until `expires_at`.
fn presigning(now: Timestamp, until: Duration) -> Result<PresigningConfig> {
    let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(now.millis()).unwrap_or(0));
    PresigningConfig::builder()
        .start_time(start)
        .expires_in(until)
        .build()
        .map_err(|e| Error::internal(format!("presigning config: {e}")))
}

impl S3BlobStore {
    /// Blobs in `bucket`; download URLs valid for `url_ttl`.
    pub fn new(client: Client, bucket: impl Into<String>, url_ttl: Duration) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            url_ttl,
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, blob: Blob) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&blob.content_type)
            .cache_control("private, max-age=300")
            .body(ByteStream::from(blob.bytes))
            .send()
            .await
            .map_err(|e| translate("PutObject", e))?;
        Ok(())
    }

    async fn url(&self, key: &str, now: Timestamp) -> Result<String> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(now, self.url_ttl)?)
            .await
            .map_err(|e| translate("GetObject (presign)", e))?;
        Ok(request.uri().to_owned())
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<UploadSlot> {
        let ttl = u64::try_from(expires_at.millis() - now.millis()).unwrap_or(0);
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .cache_control("private, max-age=300")
            .tagging(PENDING_TAG)
            .presigned(presigning(now, Duration::from_millis(ttl))?)
            .await
            .map_err(|e| translate("PutObject (presign)", e))?;
        // The host and the length are the client's own to send.
        let headers = request
            .headers()
            .filter(|(name, _)| {
                !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length")
            })
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        Ok(UploadSlot {
            url: request.uri().to_owned(),
            headers,
        })
    }

    async fn head(&self, key: &str, prefix: usize) -> Result<Option<BlobHead>> {
        let last = prefix.max(1) - 1;
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{last}"))
            .send()
            .await;
        let object = match result {
            Ok(object) => object,
            Err(e) => {
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_owned);
                let missing = matches!(
                    e.as_service_error(),
                    Some(aws_sdk_s3::operation::get_object::GetObjectError::NoSuchKey(_))
                ) || code.as_deref() == Some("NoSuchKey");
                // An empty object has no byte 0 to range over.
                if missing || code.as_deref() == Some("InvalidRange") {
                    return Ok(None);
                }
                return Err(translate("GetObject", e));
            }
        };
        // "bytes 0-15/12345": the total is after the slash.
        let size = object
            .content_range()
            .and_then(|range| range.rsplit('/').next())
            .and_then(|total| total.parse::<u64>().ok())
            .or_else(|| object.content_length().and_then(|n| u64::try_from(n).ok()))
            .unwrap_or(0);
        let content_type = object.content_type().unwrap_or_default().to_owned();
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| Error::internal_from("reading an object's first bytes", e))?
            .into_bytes();
        Ok(Some(BlobHead {
            size,
            content_type,
            prefix: bytes.slice(..prefix.min(bytes.len())),
        }))
    }

    async fn keep(&self, key: &str, keep: bool) -> Result<()> {
        let state = if keep { "kept" } else { "pending" };
        let tag = Tag::builder()
            .key("state")
            .value(state)
            .build()
            .map_err(|e| Error::internal(format!("tag: {e}")))?;
        let tagging = Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| Error::internal(format!("tagging: {e}")))?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| translate("PutObjectTagging", e))?;
        Ok(())
    }
}
