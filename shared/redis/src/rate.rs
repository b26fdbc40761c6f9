//! Fixed-window counters that expire a window after theirs ends.

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
        // The key names its window, so a later window never reads this
        // count; it is kept one window longer than needed because Redis
        // expires it by its own clock, which may run ahead of this
        // process's (another host, or a test's clock): expiring it at the
        // window's end would forget hits made in the window's last moments.
        let slack = i64::try_from(window_secs.min(366 * 86_400)).unwrap_or(0);
        let allowed: i64 = self
            .script(
                "rate limit",
                scripts::RATE_HIT
                    .key(self.keys.rate(key, window.start_secs))
                    .arg(limit)
                    .arg(window.end.plus_secs(slack).millis().max(1)),
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
