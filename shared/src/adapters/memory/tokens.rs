//! Refresh tokens and revoked token families.

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::ports::{RefreshRecord, Rotate, Successor, TokenStore};
use crate::Result;

use super::{MemoryStore, StoredRefresh};

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<()> {
        self.write(|| {
            self.lock()?
                .refresh
                .insert(record.jti.clone(), StoredRefresh::new(record));
            Ok(())
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        new: &RefreshRecord,
        now: Timestamp,
        client: &str,
    ) -> Result<Rotate> {
        self.write(|| {
            let mut s = self.lock()?;
            let revoked = s
                .revoked_families
                .get(&new.family)
                .is_some_and(|until| *until > now);
            let Some(old) = s.refresh.get_mut(old_jti) else {
                return Ok(Rotate::Invalid);
            };
            if old.record.family != new.family || old.record.expires_at <= now || revoked {
                return Ok(Rotate::Invalid);
            }
            if old.used {
                return Ok(Rotate::Reused(old.successor.clone()));
            }
            old.used = true;
            old.successor = Some(Successor {
                jti: new.jti.clone(),
                expires_at: new.expires_at,
                rotated_at: now,
                client: client.to_owned(),
            });
            s.refresh.insert(new.jti.clone(), StoredRefresh::new(new));
            Ok(Rotate::Rotated)
        })
        .await
    }

    async fn revoke_family(&self, family: &str, until: Timestamp) -> Result<()> {
        self.write(|| {
            self.lock()?
                .revoked_families
                .insert(family.to_owned(), until);
            Ok(())
        })
        .await
    }

    async fn family_revoked(&self, family: &str, now: Timestamp) -> Result<bool> {
        Ok(self
            .lock()?
            .revoked_families
            .get(family)
            .is_some_and(|until| *until > now))
    }
}
