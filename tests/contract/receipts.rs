use chat_core::domain::{RoomId, UserId};
use chat_core::Ctx;

use crate::contract;

contract!(watermarks_only_rise);

async fn watermarks_only_rise(ctx: &Ctx) {
    let room = RoomId::from_trusted("r1".into());
    let (a, b) = (
        UserId::from_trusted("a".into()),
        UserId::from_trusted("b".into()),
    );
    ctx.receipts
        .mark_delivered(&room, &[a.clone(), b.clone()], 9)
        .await
        .expect("mark");
    ctx.receipts
        .mark_delivered(&room, std::slice::from_ref(&a), 2)
        .await
        .expect("an older one is ignored");
    ctx.receipts
        .mark_delivered(&room, std::slice::from_ref(&b), 10)
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.delivered.get(&a), Some(&9));
    assert_eq!(r.delivered.get(&b), Some(&10));
    assert!(r.read.is_empty());
    assert!(ctx.receipts.mark_read(&room, &a, 12).await.expect("read"));
    assert!(
        !ctx.receipts.mark_read(&room, &a, 10).await.expect("read"),
        "no move backwards"
    );
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.read.get(&a), Some(&12));
    assert_eq!(r.delivered.get(&a), Some(&12), "read implies delivered");
    assert_eq!(
        ctx.receipts
            .receipts(&RoomId::from_trusted("none".into()))
            .await
            .expect("read"),
        Default::default()
    );
}
