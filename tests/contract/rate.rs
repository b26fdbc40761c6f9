use chat_core::domain::Timestamp;
use chat_core::ports::RateDecision;
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(
    fixed_windows_limit_hits_per_key,
    peeking_counts_nothing,
    a_count_outlives_its_window_on_the_stores_clock
);

async fn fixed_windows_limit_hits_per_key(ctx: &Ctx) {
    for _ in 0..3 {
        assert_eq!(
            ctx.limiter.hit("k", 60, 3, T0).await.ok(),
            Some(RateDecision::Allowed)
        );
    }
    let limited = ctx.limiter.hit("k", 60, 3, T0).await.expect("hit");
    let RateDecision::Limited { retry_after_secs } = limited else {
        panic!("fourth hit allowed");
    };
    assert!((1..=60).contains(&retry_after_secs));
    assert_eq!(
        ctx.limiter.hit("other", 60, 3, T0).await.ok(),
        Some(RateDecision::Allowed)
    );
    assert_eq!(
        ctx.limiter.hit("k", 60, 3, T0.plus_secs(60)).await.ok(),
        Some(RateDecision::Allowed),
        "next window"
    );
}

/// `peek` says whether a key is at its limit without counting a hit.
async fn peeking_counts_nothing(ctx: &Ctx) {
    for _ in 0..5 {
        assert_eq!(
            ctx.limiter.peek("p", 60, 2, T0).await.ok(),
            Some(RateDecision::Allowed),
            "an unknown key, however often asked"
        );
    }
    for _ in 0..2 {
        ctx.limiter.hit("p", 60, 2, T0).await.expect("hit");
    }
    let at_limit = ctx.limiter.peek("p", 60, 2, T0).await.expect("peek");
    assert!(
        matches!(at_limit, RateDecision::Limited { retry_after_secs } if (1..=60).contains(&retry_after_secs))
    );
    assert_eq!(
        ctx.limiter.peek("p", 60, 3, T0).await.ok(),
        Some(RateDecision::Allowed),
        "two hits are under a limit of three"
    );
    assert_eq!(
        ctx.limiter.peek("p", 60, 2, T0.plus_secs(60)).await.ok(),
        Some(RateDecision::Allowed),
        "next window"
    );
}

/// The caller's clock may run behind the store's (another host; Redis
/// expires keys by its own clock): a window that has just ended by the
/// store's clock is still the caller's, and its count must still hold.
async fn a_count_outlives_its_window_on_the_stores_clock(ctx: &Ctx) {
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let real_now = i64::try_from(real_now).expect("in range");
    // The start of the previous minute: its window ended at most a minute ago.
    let behind = Timestamp::from_millis(real_now - real_now.rem_euclid(60_000) - 60_000);
    assert_eq!(
        ctx.limiter.hit("skew", 60, 1, behind).await.ok(),
        Some(RateDecision::Allowed)
    );
    assert!(
        matches!(
            ctx.limiter.hit("skew", 60, 1, behind).await,
            Ok(RateDecision::Limited { .. })
        ),
        "the window's one hit was forgotten"
    );
}
