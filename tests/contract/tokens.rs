use chat_core::domain::UserId;
use chat_core::ports::{RefreshRecord, Rotate, Successor};
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(
    rotation_consumes_once_and_detects_reuse,
    revoked_or_expired_families_do_not_rotate
);

fn token(jti: &str, family: &str) -> RefreshRecord {
    RefreshRecord {
        jti: jti.into(),
        family: family.into(),
        user_id: UserId::from_trusted("u1".into()),
        expires_at: T0.plus_secs(3600),
    }
}

async fn rotation_consumes_once_and_detects_reuse(ctx: &Ctx) {
    ctx.tokens
        .put_refresh(&token("t1", "f1"))
        .await
        .expect("put");
    let r = ctx
        .tokens
        .rotate_refresh("t1", &token("t2", "f1"), T0, "c1")
        .await
        .expect("rotate");
    assert!(matches!(r, Rotate::Rotated));
    let r = ctx
        .tokens
        .rotate_refresh("t1", &token("t3", "f1"), T0, "c1")
        .await
        .expect("rotate");
    // The consumed token tells what replaced it, when and for whom.
    let Rotate::Reused(Some(successor)) = r else {
        panic!("reused, with its successor: {r:?}");
    };
    assert_eq!(
        successor,
        Successor {
            jti: "t2".into(),
            expires_at: T0.plus_secs(3600),
            rotated_at: T0,
            client: "c1".into(),
        }
    );
    let r = ctx
        .tokens
        .rotate_refresh("t2", &token("t4", "f1"), T0, "c1")
        .await
        .expect("rotate");
    assert!(
        matches!(r, Rotate::Rotated),
        "the successor still works until the family is revoked"
    );
    let r = ctx
        .tokens
        .rotate_refresh("nope", &token("t5", "f1"), T0, "c1")
        .await
        .expect("rotate");
    assert!(matches!(r, Rotate::Invalid));
    let r = ctx
        .tokens
        .rotate_refresh("t4", &token("t6", "other-family"), T0, "c1")
        .await
        .expect("rotate");
    assert!(
        matches!(r, Rotate::Invalid),
        "a token cannot move to another family"
    );
    // Two concurrent rotations of one token: one wins.
    ctx.tokens
        .put_refresh(&token("p1", "f9"))
        .await
        .expect("put");
    let (p2, p3) = (token("p2", "f9"), token("p3", "f9"));
    let (a, b) = tokio::join!(
        ctx.tokens.rotate_refresh("p1", &p2, T0, "c1"),
        ctx.tokens.rotate_refresh("p1", &p3, T0, "c1")
    );
    let rotated = [a, b]
        .into_iter()
        .filter(|r| matches!(r, Ok(Rotate::Rotated)))
        .count();
    assert_eq!(rotated, 1);
}

async fn revoked_or_expired_families_do_not_rotate(ctx: &Ctx) {
    ctx.tokens
        .put_refresh(&token("a1", "fa"))
        .await
        .expect("put");
    ctx.tokens
        .revoke_family("fa", T0.plus_secs(3600))
        .await
        .expect("revoke");
    assert!(ctx.tokens.family_revoked("fa", T0).await.expect("read"));
    assert!(!ctx.tokens.family_revoked("fb", T0).await.expect("read"));
    assert!(
        !ctx.tokens
            .family_revoked("fa", T0.plus_secs(3600))
            .await
            .expect("read"),
        "a revocation lasts until its tokens have expired"
    );
    let r = ctx
        .tokens
        .rotate_refresh("a1", &token("a2", "fa"), T0, "c1")
        .await
        .expect("rotate");
    assert!(matches!(r, Rotate::Invalid));
    ctx.tokens
        .put_refresh(&token("b1", "fb"))
        .await
        .expect("put");
    let r = ctx
        .tokens
        .rotate_refresh("b1", &token("b2", "fb"), T0.plus_secs(3600), "c1")
        .await
        .expect("rotate");
    assert!(matches!(r, Rotate::Invalid), "expired");
    // A revocation that has run out no longer blocks (its tokens expired anyway).
    ctx.tokens
        .put_refresh(&token("c1", "fc"))
        .await
        .expect("put");
    ctx.tokens.revoke_family("fc", T0).await.expect("revoke");
    let r = ctx
        .tokens
        .rotate_refresh("c1", &token("c2", "fc"), T0.plus_secs(1), "c1")
        .await
        .expect("rotate");
    assert!(matches!(r, Rotate::Rotated));
}
