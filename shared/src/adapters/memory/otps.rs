//! E-mail verification codes.

use async_trait::async_trait;

use crate::domain::{Email, Timestamp};
use crate::ports::{OtpRecord, OtpStore};
use crate::Result;

use super::MemoryStore;

#[async_trait]
impl OtpStore for MemoryStore {
    async fn put_otp(&self, otp: &OtpRecord) -> Result<()> {
        self.write(|| {
            self.lock()?
                .otps
                .insert(otp.email.as_str().to_owned(), otp.clone());
            Ok(())
        })
        .await
    }

    async fn take_attempt(
        &self,
        email: &Email,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<OtpRecord>> {
        self.write(|| {
            let mut s = self.lock()?;
            let Some(record) = s.otps.get_mut(email.as_str()) else {
                return Ok(None);
            };
            if record.expires_at <= now || record.attempts >= max_attempts {
                return Ok(None);
            }
            let before = record.clone();
            record.attempts += 1;
            Ok(Some(before))
        })
        .await
    }

    async fn otp(&self, email: &Email, now: Timestamp) -> Result<Option<OtpRecord>> {
        Ok(self
            .lock()?
            .otps
            .get(email.as_str())
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn delete_otp(&self, email: &Email) -> Result<()> {
        self.write(|| {
            self.lock()?.otps.remove(email.as_str());
            Ok(())
        })
        .await
    }
}
