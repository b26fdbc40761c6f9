use async_trait::async_trait;
use chat_core::domain::Timestamp;
use chat_core::ports::{RateDecision, RateLimiter, RateWindow};
use chat_core::Result;

use super::item::{self, n, s};
use super::keys::{rate_pk, RATE};
use super::DynamoStore;
use crate::sdk_error::{is_conditional_check_failed, translate};
use crate::table::{PK, SK};

#[async_trait]
impl RateLimiter for DynamoStore {
    async fn hit(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(rate_pk(key, window.start_secs)))
            .key(SK, s(RATE))
            .update_expression("ADD hits :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#ttl", crate::table::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":ttl", item::ttl(window.end))
            .send()
            .await;
        match result {
            Ok(_) => Ok(RateDecision::Allowed),
            Err(e) if is_conditional_check_failed(&e) => Ok(RateDecision::Limited {
                retry_after_secs: window.retry_after_secs,
            }),
            Err(e) => Err(translate("UpdateItem", e)),
        }
    }

    async fn peek(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(rate_pk(key, window.start_secs)))
            .key(SK, s(RATE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| translate("GetItem", e))?;
        let hits = found
            .item()
            .and_then(|i| i.get("hits"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        Ok(window.decide(hits, limit))
    }
}
