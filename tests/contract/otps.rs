use chat_core::domain::{Email, UserId, Username};
use chat_core::ports::{OtpRecord, PendingCredentials};
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(
    attempts_are_counted_before_comparing,
    codes_expire_and_can_be_replaced,
    parallel_attempts_never_exceed_the_limit,
    pending_credentials_travel_with_the_code
);

fn record(email: &str) -> OtpRecord {
    OtpRecord {
        email: Email::parse(email).expect("email"),
        user_id: UserId::from_trusted("u1".into()),
        code_hash: "hash".into(),
        expires_at: T0.plus_secs(600),
        attempts: 0,
        pending: None,
    }
}

async fn pending_credentials_travel_with_the_code(ctx: &Ctx) {
    let pending = PendingCredentials {
        username: Username::parse("owner").expect("username"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    let otp = OtpRecord {
        pending: Some(pending.clone()),
        ..record("p@example.com")
    };
    ctx.otps.put_otp(&otp).await.expect("put");
    let read = ctx
        .otps
        .otp(&otp.email, T0)
        .await
        .expect("read")
        .expect("usable");
    assert_eq!(read.pending.as_ref(), Some(&pending));
    assert_eq!(read.attempts, 0, "reading counts no attempt");
    let taken = ctx
        .otps
        .take_attempt(&otp.email, T0, 5)
        .await
        .expect("attempt")
        .expect("usable");
    assert_eq!(taken.pending, Some(pending));
    assert!(
        ctx.otps
            .otp(&otp.email, T0.plus_secs(601))
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    let plain = record("q@example.com");
    ctx.otps.put_otp(&plain).await.expect("put");
    let read = ctx
        .otps
        .otp(&plain.email, T0)
        .await
        .expect("read")
        .expect("usable");
    assert_eq!(read.pending, None);
}

async fn attempts_are_counted_before_comparing(ctx: &Ctx) {
    let otp = record("a@example.com");
    ctx.otps.put_otp(&otp).await.expect("put");
    for expected in 0..5 {
        let seen = ctx
            .otps
            .take_attempt(&otp.email, T0, 5)
            .await
            .expect("attempt")
            .expect("usable");
        assert_eq!(seen.attempts, expected);
        assert_eq!(seen.code_hash, "hash");
        assert_eq!(seen.user_id.as_str(), "u1");
    }
    assert!(
        ctx.otps
            .take_attempt(&otp.email, T0, 5)
            .await
            .expect("attempt")
            .is_none(),
        "sixth attempt"
    );
    ctx.otps.delete_otp(&otp.email).await.expect("delete");
    assert!(ctx
        .otps
        .take_attempt(&otp.email, T0, 5)
        .await
        .expect("attempt")
        .is_none());
    let unknown = Email::parse("nobody@example.com").expect("email");
    assert!(ctx
        .otps
        .take_attempt(&unknown, T0, 5)
        .await
        .expect("attempt")
        .is_none());
}

async fn codes_expire_and_can_be_replaced(ctx: &Ctx) {
    let otp = record("b@example.com");
    ctx.otps.put_otp(&otp).await.expect("put");
    assert!(ctx
        .otps
        .take_attempt(&otp.email, T0.plus_secs(600), 5)
        .await
        .expect("attempt")
        .is_none());
    let mut fresh = record("b@example.com");
    fresh.code_hash = "new".into();
    fresh.expires_at = T0.plus_secs(1200);
    ctx.otps.put_otp(&fresh).await.expect("replace");
    let seen = ctx
        .otps
        .take_attempt(&otp.email, T0.plus_secs(601), 5)
        .await
        .expect("attempt")
        .expect("usable");
    assert_eq!(seen.code_hash, "new");
    assert_eq!(seen.attempts, 0, "a new code starts with no attempts");
}

async fn parallel_attempts_never_exceed_the_limit(ctx: &Ctx) {
    let otp = record("c@example.com");
    ctx.otps.put_otp(&otp).await.expect("put");
    let results =
        futures_util::future::join_all((0..20).map(|_| ctx.otps.take_attempt(&otp.email, T0, 5)))
            .await;
    let usable = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(usable, 5);
}
