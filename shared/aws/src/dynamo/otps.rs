use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chat_core::domain::{Email, Timestamp, UserId, Username};
use chat_core::ports::{OtpRecord, OtpStore, PendingCredentials};
use chat_core::Result;

use super::item::{self, n, s, ts};
use super::keys::{otp_pk, OTP};
use super::DynamoStore;
use crate::sdk_error::{is_conditional_check_failed, translate};
use crate::table::{PK, SK, TTL};

#[async_trait]
impl OtpStore for DynamoStore {
    async fn put_otp(&self, otp: &OtpRecord) -> Result<()> {
        let mut record = item::key(&otp_pk(&otp.email), OTP);
        record.insert("email".into(), s(otp.email.as_str()));
        record.insert("user_id".into(), s(otp.user_id.as_str()));
        record.insert("code_hash".into(), s(&otp.code_hash));
        record.insert("expires_at".into(), ts(otp.expires_at));
        record.insert("attempts".into(), n(otp.attempts));
        if let Some(pending) = &otp.pending {
            record.insert("pending_username".into(), s(pending.username.as_str()));
            record.insert("pending_password_hash".into(), s(&pending.password_hash));
        }
        record.insert(TTL.into(), item::ttl(otp.expires_at));
        self.put(record).await
    }

    async fn take_attempt(
        &self,
        email: &Email,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<OtpRecord>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(otp_pk(email)))
            .key(SK, s(OTP))
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("attribute_exists(pk) AND expires_at > :now AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":max", n(max_attempts))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(e) if is_conditional_check_failed(&e) => return Ok(None),
            Err(e) => return Err(translate("UpdateItem", e)),
        };
        record_from(email, &old).map(Some)
    }

    async fn otp(&self, email: &Email, now: Timestamp) -> Result<Option<OtpRecord>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(otp_pk(email)))
            .key(SK, s(OTP))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| translate("GetItem", e))?;
        match found.item() {
            Some(found) => Ok(Some(record_from(email, found)?).filter(|r| r.expires_at > now)),
            None => Ok(None),
        }
    }

    async fn delete_otp(&self, email: &Email) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(otp_pk(email)))
            .key(SK, s(OTP))
            .send()
            .await
            .map_err(|e| translate("DeleteItem", e))?;
        Ok(())
    }
}

fn record_from(email: &Email, found: &item::Item) -> Result<OtpRecord> {
    let pending = match (
        found.get("pending_username").and_then(|v| v.as_s().ok()),
        found
            .get("pending_password_hash")
            .and_then(|v| v.as_s().ok()),
    ) {
        (Some(username), Some(hash)) => Some(PendingCredentials {
            username: Username::from_trusted(username.clone()),
            password_hash: hash.clone(),
        }),
        _ => None,
    };
    Ok(OtpRecord {
        email: email.clone(),
        user_id: UserId::from_trusted(item::get_s(found, "user_id")?),
        code_hash: item::get_s(found, "code_hash")?,
        expires_at: item::get_ts(found, "expires_at")?,
        attempts: item::get_n(found, "attempts")?,
        pending,
    })
}
