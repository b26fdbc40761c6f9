use chat_core::domain::{MessageId, RoomId, UserId};
use chat_core::Ctx;

use crate::contract;

contract!(watermarks_only_rise);

async fn watermarks_only_rise(ctx: &Ctx) {
    let room = RoomId::from_trusted("r1".into());
    let (a, b) = (
        UserId::from_trusted("a".into()),
        UserId::from_trusted("b".into()),
    );
    let m = |s: &str| MessageId::from_trusted(s.to_owned());
    ctx.receipts
        .mark_delivered(&room, &[a.clone(), b.clone()], &m("01B"))
        .await
        .expect("mark");
    ctx.receipts
        .mark_delivered(&room, std::slice::from_ref(&a), &m("01A"))
        .await
        .expect("an older one is ignored");
    ctx.receipts
        .mark_delivered(&room, std::slice::from_ref(&b), &m("01C"))
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.delivered.get(&a), Some(&m("01B")));
    assert_eq!(r.delivered.get(&b), Some(&m("01C")));
    assert!(r.read.is_empty());
    assert!(ctx
        .receipts
        .mark_read(&room, &a, &m("01D"))
        .await
        .expect("read"));
    assert!(
        !ctx.receipts
            .mark_read(&room, &a, &m("01C"))
            .await
            .expect("read"),
        "no move backwards"
    );
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.read.get(&a), Some(&m("01D")));
    assert_eq!(
        r.delivered.get(&a),
        Some(&m("01D")),
        "read implies delivered"
    );
    assert_eq!(
        ctx.receipts
            .receipts(&RoomId::from_trusted("none".into()))
            .await
            .expect("read"),
        Default::default()
    );
}
