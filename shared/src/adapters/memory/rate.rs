//! Fixed-window rate limits.

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::ports::{RateDecision, RateLimiter, RateWindow};
use crate::Result;

use super::{MemoryStore, RATE_SWEEP_THRESHOLD};

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let mut s = self.lock()?;
        if s.rate.len() > RATE_SWEEP_THRESHOLD {
            s.rate.retain(|_, (_, window_end)| *window_end > now);
        }
        let entry = s
            .rate
            .entry((key.to_owned(), window.start_secs))
            .or_insert((0, window.end));
        if entry.0 >= limit {
            return Ok(RateDecision::Limited {
                retry_after_secs: window.retry_after_secs,
            });
        }
        entry.0 += 1;
        Ok(RateDecision::Allowed)
    }

    async fn peek(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let s = self.lock()?;
        let hits = s
            .rate
            .get(&(key.to_owned(), window.start_secs))
            .map_or(0, |(hits, _)| *hits);
        Ok(window.decide(hits, limit))
    }
}
