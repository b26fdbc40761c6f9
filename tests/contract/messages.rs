use std::collections::HashSet;

use chat_core::domain::{Message, MessageBody, MessageId, Role, Timestamp, UserId, Username};
use chat_core::ports::{Append, HistoryCursor};
use chat_core::{Ctx, Error};

use crate::contract;
use crate::support::{group, member, T0};

contract!(
    history_pages_newest_first_without_gaps,
    client_ids_make_sends_idempotent,
    last_message_only_moves_forward
);

fn message(
    ctx: &Ctx,
    room: &chat_core::domain::Room,
    at: Timestamp,
    text: &str,
    client_id: Option<&str>,
) -> Message {
    Message {
        id: MessageId::from_trusted(ctx.ids.new_id_at(at)),
        room_id: room.id.clone(),
        sender_id: UserId::from_trusted("a".into()),
        sender_username: Username::from_trusted("alice".into()),
        body: MessageBody::from_trusted(text.into()),
        created_at: at,
        client_id: client_id.map(str::to_owned),
    }
}

async fn room(ctx: &Ctx) -> chat_core::domain::Room {
    let room = group(ctx, &UserId::from_trusted("a".into()));
    ctx.rooms
        .create_group(
            &room,
            &[member(
                &room,
                &UserId::from_trusted("a".into()),
                Role::Admin,
            )],
        )
        .await
        .expect("create");
    room
}

async fn history_pages_newest_first_without_gaps(ctx: &Ctx) {
    let room = room(ctx).await;
    let mut sent = Vec::new();
    for i in 0..25 {
        // Several messages share a millisecond.
        let m = message(ctx, &room, T0.plus_secs(i / 3), &format!("m{i}"), None);
        assert!(matches!(
            ctx.messages.append(&m).await.expect("append"),
            Append::Stored
        ));
        sent.push(m.id.clone());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<HistoryCursor> = None;
    loop {
        let page = ctx
            .messages
            .history(&room.id, cursor.as_ref(), 10)
            .await
            .expect("history");
        assert!(page.len() <= 10);
        seen.extend(page.iter().map(|m| m.id.clone()));
        match page.last() {
            Some(last) if page.len() == 10 => {
                cursor = Some(HistoryCursor {
                    created_at: last.created_at,
                    id: last.id.clone(),
                })
            }
            _ => break,
        }
    }
    let mut expected = sent.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let one = ctx
        .messages
        .message(&room.id, &sent[3])
        .await
        .expect("read")
        .expect("found");
    assert_eq!(one.body.as_str(), "m3");
    assert!(ctx
        .messages
        .message(&room.id, &MessageId::from_trusted("nope".into()))
        .await
        .expect("read")
        .is_none());
    let ghost = group(ctx, &UserId::from_trusted("a".into()));
    let orphan = message(ctx, &ghost, T0, "lost", None);
    assert!(matches!(
        ctx.messages.append(&orphan).await,
        Err(Error::NotFound(_))
    ));
    assert!(
        ctx.messages
            .history(&ghost.id, None, 10)
            .await
            .expect("history")
            .is_empty(),
        "nothing stored"
    );
}

async fn client_ids_make_sends_idempotent(ctx: &Ctx) {
    let room = room(ctx).await;
    let first = message(ctx, &room, T0, "once", Some("c1"));
    let retry = message(ctx, &room, T0.plus_secs(1), "once", Some("c1"));
    assert!(matches!(
        ctx.messages.append(&first).await.expect("append"),
        Append::Stored
    ));
    let Append::Duplicate(existing) = ctx.messages.append(&retry).await.expect("append") else {
        panic!("stored twice");
    };
    assert_eq!(existing.id, first.id);
    let results = futures_util::future::join_all((0..10).map(|i| {
        let m = message(ctx, &room, T0.plus_secs(2 + i), "race", Some("c2"));
        async move { ctx.messages.append(&m).await }
    }))
    .await;
    let stored = results
        .iter()
        .filter(|r| matches!(r, Ok(Append::Stored)))
        .count();
    assert_eq!(stored, 1);
    let all = ctx
        .messages
        .history(&room.id, None, 100)
        .await
        .expect("history");
    assert_eq!(all.len(), 2);
    let ids: HashSet<_> = all.iter().map(|m| m.client_id.clone()).collect();
    assert_eq!(
        ids,
        HashSet::from([Some("c1".to_owned()), Some("c2".to_owned())])
    );
}

async fn last_message_only_moves_forward(ctx: &Ctx) {
    let room = room(ctx).await;
    let newer = message(ctx, &room, T0.plus_secs(10), "newer", None);
    let older = message(ctx, &room, T0.plus_secs(5), "older", None);
    ctx.messages.append(&newer).await.expect("append");
    ctx.messages
        .append(&older)
        .await
        .expect("append a late, older message");
    let stored = ctx
        .rooms
        .room(&room.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        stored
            .last_message
            .map(|m| m.body.as_str().to_owned())
            .as_deref(),
        Some("newer")
    );
    assert_eq!(
        ctx.messages
            .history(&room.id, None, 10)
            .await
            .expect("history")
            .len(),
        2
    );
}
