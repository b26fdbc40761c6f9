//! E-mail codes: one key per address that expires with its code.

use async_trait::async_trait;
use chat_core::domain::{Email, Timestamp};
use chat_core::ports::{OtpRecord, OtpStore};
use chat_core::Result;

use crate::{from_json, to_json, RedisStore};

#[async_trait]
impl OtpStore for RedisStore {
    async fn put_otp(&self, otp: &OtpRecord) -> Result<()> {
        self.query::<()>(
            "SET",
            redis::cmd("SET")
                .arg(self.keys.otp(&otp.email))
                .arg(to_json(otp)?)
                .arg("PXAT")
                .arg(otp.expires_at.millis().max(1)),
        )
        .await
    }

    async fn take_attempt(
        &self,
        email: &Email,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<OtpRecord>> {
        self.compare_and_set(&self.keys.otp(email), |record: Option<OtpRecord>| {
            Ok(match record {
                Some(record) if record.expires_at > now && record.attempts < max_attempts => {
                    let counted = OtpRecord {
                        attempts: record.attempts + 1,
                        ..record.clone()
                    };
                    (Some(counted), Some(record))
                }
                _ => (None, None),
            })
        })
        .await
    }

    async fn otp(&self, email: &Email, now: Timestamp) -> Result<Option<OtpRecord>> {
        let raw: Option<String> = self
            .query("GET", redis::cmd("GET").arg(self.keys.otp(email)))
            .await?;
        Ok(raw
            .map(|r| from_json::<OtpRecord>(&r))
            .transpose()?
            .filter(|r| r.expires_at > now))
    }

    async fn delete_otp(&self, email: &Email) -> Result<()> {
        self.query::<()>("DEL", redis::cmd("DEL").arg(self.keys.otp(email)))
            .await
    }
}
