//! Profile pictures in S3: stored under a per-user key with their content
//! type; clients get a time-limited presigned GET URL.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use chat_core::domain::Timestamp;
use chat_core::ports::{Blob, BlobStore};
use chat_core::{Error, Result};

use crate::sdk_error::translate;

/// A bucket of pictures.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    url_ttl: Duration,
}

impl S3BlobStore {
    /// Pictures in `bucket`; URLs valid for `url_ttl`.
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
        let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(now.millis()).unwrap_or(0));
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(self.url_ttl)
            .build()
            .map_err(|e| Error::internal(format!("presigning config: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| translate("GetObject (presign)", e))?;
        Ok(request.uri().to_owned())
    }
}
