use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::ports::{Blob, BlobHead, BlobStore, Delivery, Mail, Mailer, Notifier, UploadSlot};
use crate::{Error, Result};

/// Stands in for a capability a function was deployed without (a Lambda
/// builds only the clients its route uses). Using it is a deployment bug,
/// reported as an internal error naming the capability.
#[derive(Debug, Clone, Copy)]
pub struct Unconfigured(pub &'static str);

impl Unconfigured {
    fn error(&self) -> Error {
        Error::internal(format!("{} is not configured for this function", self.0))
    }
}

#[async_trait]
impl Mailer for Unconfigured {
    async fn send(&self, _mail: &Mail) -> Result<()> {
        Err(self.error())
    }
}

#[async_trait]
impl BlobStore for Unconfigured {
    async fn put(&self, _key: &str, _blob: Blob) -> Result<()> {
        Err(self.error())
    }

    async fn url(&self, _key: &str, _now: Timestamp) -> Result<String> {
        Err(self.error())
    }

    async fn upload_url(
        &self,
        _key: &str,
        _content_type: &str,
        _size: u64,
        _now: Timestamp,
        _expires_at: Timestamp,
    ) -> Result<UploadSlot> {
        Err(self.error())
    }

    async fn head(&self, _key: &str, _prefix: usize) -> Result<Option<BlobHead>> {
        Err(self.error())
    }

    async fn keep(&self, _key: &str, _keep: bool) -> Result<()> {
        Err(self.error())
    }
}

#[async_trait]
impl Notifier for Unconfigured {
    async fn post(&self, _connection_id: &str, _payload: &[u8]) -> Result<Delivery> {
        Err(self.error())
    }

    async fn close(&self, _connection_id: &str) -> Result<()> {
        Err(self.error())
    }
}
