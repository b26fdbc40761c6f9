use chat_core::ports::RateDecision;
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(fixed_windows_limit_hits_per_key);

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
