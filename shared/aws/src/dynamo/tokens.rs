use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use chat_core::domain::Timestamp;
use chat_core::ports::{RefreshRecord, Rotate, Successor, TokenStore};
use chat_core::Result;

use super::item::{self, b, failed_at, s, ts, Item};
use super::keys::{family_pk, refresh_pk, FAMILY, REFRESH};
use super::DynamoStore;
use crate::sdk_error::build_error;
use crate::table::TTL;

fn refresh_item(record: &RefreshRecord) -> Item {
    let mut out = item::key(&refresh_pk(&record.jti), REFRESH);
    out.insert("family".into(), s(&record.family));
    out.insert("user_id".into(), s(record.user_id.as_str()));
    out.insert("expires_at".into(), ts(record.expires_at));
    out.insert("used".into(), b(false));
    out.insert(TTL.into(), item::ttl(record.expires_at));
    out
}

/// What replaced a consumed token, as its item records it.
fn successor(old: &Item) -> Option<Successor> {
    Some(Successor {
        jti: item::opt_s(old, "next_jti")?,
        expires_at: item::opt_ts(old, "next_expires_at")?,
        rotated_at: item::opt_ts(old, "rotated_at")?,
        client: item::opt_s(old, "rotated_by")?,
    })
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<()> {
        self.put(refresh_item(record)).await
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        new: &RefreshRecord,
        now: Timestamp,
        client: &str,
    ) -> Result<Rotate> {
        let consume = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&refresh_pk(old_jti), REFRESH)))
            .update_expression(
                "SET used = :t, next_jti = :next, next_expires_at = :next_exp, rotated_at = :now, rotated_by = :client",
            )
            .condition_expression(
                "attribute_exists(pk) AND used = :f AND #family = :fam AND expires_at > :now",
            )
            .expression_attribute_names("#family", "family")
            .expression_attribute_values(":t", b(true))
            .expression_attribute_values(":f", b(false))
            .expression_attribute_values(":fam", s(&new.family))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":next", s(&new.jti))
            .expression_attribute_values(":next_exp", ts(new.expires_at))
            .expression_attribute_values(":client", s(client))
            .build()
            .map_err(build_error)?;
        let family_alive = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&family_pk(&new.family), FAMILY)))
            .condition_expression("attribute_not_exists(pk) OR revoked_until <= :now")
            .expression_attribute_values(":now", ts(now))
            .build()
            .map_err(build_error)?;
        let store_new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(refresh_item(new)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(consume).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(family_alive)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(store_new).build());
        let codes = match item::transact(request).await? {
            Ok(()) => return Ok(Rotate::Rotated),
            Err(codes) => codes,
        };
        if failed_at(&codes, 1) || !failed_at(&codes, 0) {
            return Ok(Rotate::Invalid);
        }
        // Why did consuming fail: already used (reuse!) or simply not valid?
        let Some(old) = self.get(&refresh_pk(old_jti), REFRESH).await? else {
            return Ok(Rotate::Invalid);
        };
        let same_family = item::opt_s(&old, "family").as_deref() == Some(new.family.as_str());
        let live = item::opt_ts(&old, "expires_at").is_some_and(|at| at > now);
        Ok(if item::get_bool(&old, "used") && same_family && live {
            Rotate::Reused(successor(&old))
        } else {
            Rotate::Invalid
        })
    }

    async fn revoke_family(&self, family: &str, until: Timestamp) -> Result<()> {
        let mut record = item::key(&family_pk(family), FAMILY);
        record.insert("revoked_until".into(), ts(until));
        record.insert(TTL.into(), item::ttl(until));
        self.put(record).await
    }

    async fn family_revoked(&self, family: &str, now: Timestamp) -> Result<bool> {
        Ok(self
            .get(&family_pk(family), FAMILY)
            .await?
            .and_then(|i| item::opt_ts(&i, "revoked_until"))
            .is_some_and(|until| until > now))
    }
}
