//! Fixed-window counters that expire with their window.

use async_trait::async_trait;
use chat_core::domain::Timestamp;
use chat_core::ports::{RateDecision, RateLimiter, RateWindow};
use chat_core::Result;

use crate::{scripts, RedisStore};

#[async_trait]
impl RateLimiter for RedisStore {
    async fn hit(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let allowed: i64 = self
            .script(
                "rate limit",
                scripts::RATE_HIT
                    .key(self.keys.rate(key, window.start_secs))
                    .arg(limit)
                    .arg(window.end.millis().max(1)),
            )
            .await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after_secs: window.retry_after_secs,
            }
        })
    }

    async fn peek(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let hits: Option<u32> = self
            .query(
                "GET",
                redis::cmd("GET").arg(self.keys.rate(key, window.start_secs)),
            )
            .await?;
        Ok(window.decide(hits.unwrap_or(0), limit))
    }
}
