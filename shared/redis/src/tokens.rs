//! Refresh tokens and revoked families, each expiring when it no longer matters.

use async_trait::async_trait;
use chat_core::domain::Timestamp;
use chat_core::ports::{RefreshRecord, Rotate, Successor, TokenStore};
use chat_core::Result;

use crate::{scripts, RedisStore};

/// A consumed token's successor, from the script's answer (`jti, expiry,
/// rotated at, client`); `None` when the token was consumed before
/// successors were recorded.
fn successor(fields: &[String]) -> Option<Successor> {
    let [jti, expires_at, rotated_at, client] = fields else {
        return None;
    };
    if jti.is_empty() {
        return None;
    }
    Some(Successor {
        jti: jti.clone(),
        expires_at: Timestamp::from_millis(expires_at.parse().ok()?),
        rotated_at: Timestamp::from_millis(rotated_at.parse().ok()?),
        client: client.clone(),
    })
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<()> {
        let key = self.keys.refresh(&record.jti);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg("family")
            .arg(&record.family)
            .arg("user_id")
            .arg(record.user_id.as_str())
            .arg("expires_at")
            .arg(record.expires_at.millis())
            .arg("used")
            .arg("0")
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(record.expires_at.millis().max(1))
            .ignore();
        self.pipe::<()>("store refresh token", &pipe).await
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        new: &RefreshRecord,
        now: Timestamp,
        client: &str,
    ) -> Result<Rotate> {
        let outcome: Vec<String> = self
            .script(
                "rotate refresh token",
                scripts::ROTATE_REFRESH
                    .key(self.keys.refresh(old_jti))
                    .key(self.keys.refresh(&new.jti))
                    .key(self.keys.family(&new.family))
                    .arg(now.millis())
                    .arg(&new.family)
                    .arg(new.user_id.as_str())
                    .arg(new.expires_at.millis().max(1))
                    .arg(&new.jti)
                    .arg(client),
            )
            .await?;
        Ok(match outcome.first().map(String::as_str) {
            Some("0") => Rotate::Rotated,
            Some("1") => Rotate::Reused(successor(&outcome[1..])),
            _ => Rotate::Invalid,
        })
    }

    async fn revoke_family(&self, family: &str, until: Timestamp) -> Result<()> {
        self.query::<()>(
            "SET",
            redis::cmd("SET")
                .arg(self.keys.family(family))
                .arg(until.millis())
                .arg("PXAT")
                .arg(until.millis().max(1)),
        )
        .await
    }

    async fn family_revoked(&self, family: &str, now: Timestamp) -> Result<bool> {
        let until: Option<i64> = self
            .query("GET", redis::cmd("GET").arg(self.keys.family(family)))
            .await?;
        Ok(until.is_some_and(|until| until > now.millis()))
    }
}
