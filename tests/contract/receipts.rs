use chat_core::domain::{Message, MessageBody, MessageId, Role, RoomId, UserId, Username};
use chat_core::Ctx;

use crate::contract;
use crate::support::{group, member, T0};

contract!(
    watermarks_only_rise,
    a_send_marks_its_sender_read_and_whom_it_reached,
    a_send_reaching_hundreds_of_members_marks_each_of_them,
    unread_counts_hold_under_concurrent_senders
);

/// A large room: a send that reached 300 members records every one of
/// them (DynamoDB takes at most 300 operators in one condition, so its
/// store writes them in groups), never lowering one already further.
async fn a_send_reaching_hundreds_of_members_marks_each_of_them(ctx: &Ctx) {
    let room = RoomId::from_trusted("r-large".into());
    let sender = UserId::from_trusted("sender".into());
    let reached: Vec<UserId> = (0..300)
        .map(|i| UserId::from_trusted(format!("01JD5Z8K3V7Q2W9X4Y6Z8A{i:04}")))
        .collect();
    ctx.receipts
        .mark_delivered(&room, &reached[..1], 9)
        .await
        .expect("mark");
    ctx.receipts
        .mark_sent(&room, &sender, &reached, 5)
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.read.get(&sender), Some(&5));
    assert_eq!(r.delivered.get(&reached[0]), Some(&9), "never lowered");
    for user in &reached[1..] {
        assert_eq!(r.delivered.get(user), Some(&5), "{user}");
    }
    ctx.receipts
        .mark_delivered(&room, &reached, 6)
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.delivered.get(&reached[299]), Some(&6));
    assert_eq!(r.delivered.get(&reached[0]), Some(&9));
}

async fn a_send_marks_its_sender_read_and_whom_it_reached(ctx: &Ctx) {
    let room = RoomId::from_trusted("r-sent".into());
    let [a, b, c] = ["a", "b", "c"].map(|u| UserId::from_trusted(u.into()));
    ctx.receipts
        .mark_sent(&room, &a, &[b.clone(), c.clone()], 5)
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.read.get(&a), Some(&5), "the sender has read it");
    assert_eq!(r.read.get(&b), None);
    for user in [&a, &b, &c] {
        assert_eq!(r.delivered.get(user), Some(&5), "{user}");
    }
    // A watermark already further is kept; the others still rise.
    ctx.receipts
        .mark_delivered(&room, std::slice::from_ref(&b), 9)
        .await
        .expect("mark");
    ctx.receipts
        .mark_sent(&room, &a, &[b.clone(), c.clone()], 7)
        .await
        .expect("mark");
    // Reaching nobody still records the sender's read mark.
    ctx.receipts
        .mark_sent(&room, &a, &[], 8)
        .await
        .expect("mark");
    let r = ctx.receipts.receipts(&room).await.expect("read");
    assert_eq!(r.read.get(&a), Some(&8));
    assert_eq!(r.delivered.get(&a), Some(&8));
    assert_eq!(r.delivered.get(&b), Some(&9), "never lowered");
    assert_eq!(r.delivered.get(&c), Some(&7));
}

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

fn message(ctx: &Ctx, room: &RoomId, sender: &UserId, i: i64) -> Message {
    Message {
        id: MessageId::from_trusted(ctx.ids.new_id_at(T0.plus_secs(i))),
        room_id: room.clone(),
        sender_id: sender.clone(),
        sender_username: Username::from_trusted(sender.to_string()),
        body: MessageBody::from_trusted(format!("m{i}")),
        created_at: T0.plus_secs(i),
        client_id: None,
        seq: 0,
        edited_at: None,
        deleted_at: None,
        change: 0,
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

/// Ten senders at once while the reader marks read in between: the count
/// is the room's `last_seq` minus the reader's mark, in the room and not in
/// another one.
async fn unread_counts_hold_under_concurrent_senders(ctx: &Ctx) {
    let reader = UserId::from_trusted("reader".into());
    let room = group(ctx, &reader);
    let quiet = group(ctx, &reader);
    let senders: Vec<UserId> = (0..10)
        .map(|i| UserId::from_trusted(format!("sender{i}")))
        .collect();
    let mut members = vec![member(&room, &reader, Role::Admin)];
    members.extend(senders.iter().map(|s| member(&room, s, Role::Member)));
    ctx.rooms.create_group(&room, &members).await.expect("room");
    ctx.rooms
        .create_group(&quiet, &[member(&quiet, &reader, Role::Admin)])
        .await
        .expect("room");
    for i in 0..5 {
        ctx.messages
            .append(&message(ctx, &room.id, &senders[0], i))
            .await
            .expect("append");
    }
    let sends = senders.iter().enumerate().map(|(i, s)| {
        let m = message(ctx, &room.id, s, 100 + i as i64);
        async move { ctx.messages.append(&m).await.map(|_| ()) }
    });
    let read = async {
        ctx.receipts
            .mark_read(&room.id, &reader, 5)
            .await
            .map(|_| ())
    };
    let (sent, read) = tokio::join!(futures_util::future::join_all(sends), read);
    assert!(sent.iter().all(Result::is_ok), "{sent:?}");
    read.expect("mark read");
    let last_seq = ctx
        .rooms
        .room(&room.id)
        .await
        .expect("room")
        .expect("found")
        .last_seq;
    assert_eq!(last_seq, 15);
    let marks = ctx
        .receipts
        .read_marks(&reader, &[room.id.clone(), quiet.id.clone()])
        .await
        .expect("marks");
    assert_eq!(marks.get(&room.id), Some(&5));
    assert_eq!(marks.get(&quiet.id), Some(&0));
    assert_eq!(last_seq - marks[&room.id], 10, "ten unread");
}
