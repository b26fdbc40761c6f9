use std::collections::HashSet;

use chat_core::domain::{
    Emoji, Message, MessageBody, MessageId, Role, Timestamp, UserId, Username,
    MAX_REACTIONS_PER_MESSAGE,
};
use chat_core::ports::{Append, ChangeMessage, MessageChange};
use chat_core::{Ctx, Error};

use crate::contract;
use crate::support::{group, member, stored_room, T0};

contract!(
    history_pages_newest_first_without_gaps,
    seqs_are_contiguous_in_commit_order_under_concurrency,
    after_pages_oldest_first_from_a_seq,
    client_ids_make_sends_idempotent,
    last_message_follows_commit_order,
    edits_and_deletions_are_numbered_and_caught_up,
    concurrent_changes_take_distinct_numbers,
    reactions_count_each_member_once_under_concurrency,
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
        seq: 0,
        edited_at: None,
        deleted_at: None,
        change: 0,
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

fn stored(append: Append) -> u64 {
    stored_as(append).0
}

/// The seq and the id a message was stored under (a store may extend the
/// id it was given).
fn stored_as(append: Append) -> (u64, MessageId) {
    match append {
        Append::Stored { seq, id } => (seq, id),
        Append::Duplicate(m) => panic!("a duplicate of {}", m.id),
    }
}

/// Appends `m`, returning the id it was stored under.
async fn append(ctx: &Ctx, m: &Message) -> MessageId {
    stored_as(ctx.messages.append(m).await.expect("append")).1
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
        let (seq, id) = stored_as(ctx.messages.append(&m).await.expect("append"));
        assert_eq!(
            seq,
            u64::try_from(i).expect("small") + 1,
            "seqs count from 1"
        );
        assert!(
            id.as_str().starts_with(m.id.as_str()),
            "the stored id extends the given one"
        );
        sent.push(id);
    }
    let mut seen = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let page = ctx
            .messages
            .history(&room.id, before, 10)
            .await
            .expect("history");
        assert!(page.len() <= 10);
        seen.extend(page.iter().map(|m| m.id.clone()));
        match page.last() {
            Some(last) if page.len() == 10 => before = Some(last.seq),
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
    assert_eq!((one.body.as_str(), one.seq), ("m3", 4));
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
    let (seq, first_id) = stored_as(ctx.messages.append(&first).await.expect("append"));
    assert_eq!(seq, 1);
    let Append::Duplicate(existing) = ctx.messages.append(&retry).await.expect("append") else {
        panic!("stored twice");
    };
    assert_eq!((&existing.id, existing.seq), (&first_id, 1));
    let results = futures_util::future::join_all((0..10).map(|i| {
        let m = message(ctx, &room, T0.plus_secs(2 + i), "race", Some("c2"));
        async move { ctx.messages.append(&m).await }
    }))
    .await;
    let stored = results
        .iter()
        .filter(|r| matches!(r, Ok(Append::Stored { seq: 2, .. })))
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

/// Ten writers append at once: the room's seqs are exactly 1..=N, each
/// once, and both orders (history and catch-up) agree with them.
async fn seqs_are_contiguous_in_commit_order_under_concurrency(ctx: &Ctx) {
    const WRITERS: u64 = 10;
    const EACH: u64 = 20;
    let room = room(ctx).await;
    let writers = (0..WRITERS).map(|w| {
        let room = room.clone();
        async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let m = message(
                    ctx,
                    &room,
                    T0.plus_secs(i64::try_from(w).unwrap_or(0)),
                    &format!("{w}-{i}"),
                    None,
                );
                seqs.push(stored(ctx.messages.append(&m).await.expect("append")));
            }
            seqs
        }
    });
    let per_writer = futures_util::future::join_all(writers).await;
    for seqs in &per_writer {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one writer's seqs rise: {seqs:?}"
        );
    }
    let mut all: Vec<u64> = per_writer.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=WRITERS * EACH).collect::<Vec<_>>());
    let caught_up = ctx.messages.after(&room.id, 0, 1_000).await.expect("after");
    let seqs: Vec<u64> = caught_up.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=WRITERS * EACH).collect::<Vec<_>>());
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(stored.last_seq, WRITERS * EACH);
    assert_eq!(stored.last_message.map(|m| m.seq), Some(WRITERS * EACH));
}

async fn after_pages_oldest_first_from_a_seq(ctx: &Ctx) {
    let room = room(ctx).await;
    for i in 0..12 {
        let m = message(ctx, &room, T0.plus_secs(12 - i), &format!("m{i}"), None);
        ctx.messages.append(&m).await.expect("append");
    }
    let page = ctx.messages.after(&room.id, 4, 5).await.expect("after");
    let texts: Vec<&str> = page.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(texts, ["m4", "m5", "m6", "m7", "m8"], "by seq, not by time");
    let rest = ctx.messages.after(&room.id, 9, 100).await.expect("after");
    assert_eq!(rest.iter().map(|m| m.seq).collect::<Vec<_>>(), [10, 11, 12]);
    assert!(ctx
        .messages
        .after(&room.id, 12, 10)
        .await
        .expect("after")
        .is_empty());
    assert!(ctx
        .messages
        .after(&room.id, u64::MAX, 10)
        .await
        .expect("after")
        .is_empty());
    let older = ctx
        .messages
        .history(&room.id, Some(3), 10)
        .await
        .expect("history");
    assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 1]);
    assert!(ctx
        .messages
        .history(&room.id, Some(1), 10)
        .await
        .expect("history")
        .is_empty());
}

/// The room's last message is the last one committed, whatever its clock said.
async fn last_message_follows_commit_order(ctx: &Ctx) {
    let room = room(ctx).await;
    let first = message(ctx, &room, T0.plus_secs(10), "first", None);
    let late = message(ctx, &room, T0.plus_secs(5), "late clock", None);
    ctx.messages.append(&first).await.expect("append");
    ctx.messages.append(&late).await.expect("append");
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(stored.last_seq, 2);
    assert_eq!(
        stored
            .last_message
            .map(|m| (m.body.as_str().to_owned(), m.seq)),
        Some(("late clock".to_owned(), 2))
    );
    let history = ctx
        .messages
        .history(&room.id, None, 10)
        .await
        .expect("history");
    assert_eq!(
        history.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["late clock", "first"]
    );
}

/// On Redis, the script that stores a message also publishes it (with its
/// seq) to every gateway process, so no message is stored unpublished; a
/// duplicate `client_id` publishes nothing.
#[tokio::test]
async fn on_redis_the_append_publishes_each_stored_message_once() {
    use futures_util::StreamExt;
    let url = chat_tests::redis_url();
    let prefix = chat_tests::unique("chat");
    let store = chat_redis::RedisStore::connect(&url, &prefix)
        .await
        .expect("connect to redis");
    let mut feed = redis::Client::open(url.as_str())
        .expect("url")
        .get_async_pubsub()
        .await
        .expect("pub/sub");
    feed.subscribe(chat_redis::Keys::new(&prefix).messages_channel())
        .await
        .expect("subscribe");
    let ctx = crate::support::redis_over(store);
    let room = room(&ctx).await;
    let first = message(&ctx, &room, T0, "one", Some("c1"));
    assert_eq!(
        stored(ctx.messages.append(&first).await.expect("append")),
        1
    );
    let again = Message {
        id: MessageId::from_trusted(ctx.ids.new_id_at(T0)),
        ..first.clone()
    };
    let duplicate = ctx.messages.append(&again).await.expect("append");
    assert!(matches!(duplicate, Append::Duplicate(_)));
    let second = message(&ctx, &room, T0, "two", None);
    assert_eq!(
        stored(ctx.messages.append(&second).await.expect("append")),
        2
    );

    let mut published = Vec::new();
    let mut stream = feed.on_message();
    while let Ok(Some(frame)) =
        tokio::time::timeout(std::time::Duration::from_millis(300), stream.next()).await
    {
        let payload: serde_json::Value =
            serde_json::from_str(&frame.get_payload::<String>().expect("text")).expect("JSON");
        published.push((
            payload["seq"].as_u64(),
            payload["message"]["id"].as_str().map(str::to_owned),
        ));
    }
    assert_eq!(
        published,
        [
            (Some(1), Some(first.id.as_str().to_owned())),
            (Some(2), Some(second.id.as_str().to_owned())),
        ]
    );
}

/// On DynamoDB the room's summary follows the message in a second write.
/// A writer that died between the two left it behind: the next message,
/// from a process that knows nothing of that writer, still takes the next
/// seq (no gap, nothing overwritten) and brings the summary up to date,
/// whether the sender read the stale summary first or not; a client that
/// saw the newest message catches up from it meanwhile. Ids carry their
/// seq: one naming a seq that holds another message finds nothing, and a
/// message stored before ids carried their seq is found by its pointer.
#[tokio::test]
async fn on_dynamodb_a_summary_left_behind_costs_no_gap() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let (ctx, resources) = crate::support::dynamodb().await;
    let raw = aws_sdk_dynamodb::Client::new(&resources.sdk);
    let room = room(&ctx).await;
    let meta = || {
        raw.update_item()
            .table_name(&resources.table)
            .key("pk", S(format!("ROOM#{}", room.id)))
            .key("sk", S("META".into()))
    };
    let first = append(&ctx, &message(&ctx, &room, T0, "one", None)).await;
    let second = append(&ctx, &message(&ctx, &room, T0, "two", None)).await;
    let leave_behind = || async {
        meta()
            .update_expression("SET last_seq = :one")
            .expression_attribute_values(":one", N("1".into()))
            .send()
            .await
            .expect("summary put back");
    };
    leave_behind().await;
    let sender = crate::support::dynamodb_on(&resources);
    let three = message(&sender, &room, T0, "three", None);
    assert_eq!(
        stored(
            sender
                .messages
                .append_after(&three, 1)
                .await
                .expect("append")
        ),
        3
    );
    leave_behind().await;
    // A client that saw seq 3 catches up from it while the summary says 1;
    // a seq beyond the newest message is still refused.
    let member = UserId::from_trusted("a".into());
    let after = |seq: u64| {
        chat_core::usecases::messages::history(
            &ctx,
            &member,
            &room.id,
            chat_core::usecases::messages::Window::After(seq),
            10,
        )
    };
    assert!(after(3).await.expect("after 3").messages.is_empty());
    assert!(matches!(after(4).await, Err(Error::Validation(_))));
    let another = crate::support::dynamodb_on(&resources);
    let four = message(&another, &room, T0, "four", None);
    assert_eq!(
        stored(another.messages.append(&four).await.expect("append")),
        4
    );
    let history = ctx
        .messages
        .history(&room.id, None, 10)
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|m| (m.seq, m.body.as_str()))
            .collect::<Vec<_>>(),
        [(4, "four"), (3, "three"), (2, "two"), (1, "one")]
    );
    let summary = stored_room(&ctx, &room.id).await;
    assert_eq!(
        (summary.last_seq, summary.last_message.map(|m| m.seq)),
        (4, Some(4))
    );

    let read = |id: MessageId| {
        let ctx = &ctx;
        let room = &room.id;
        async move { ctx.messages.message(room, &id).await.expect("read") }
    };
    assert_eq!(read(second.clone()).await.map(|m| m.seq), Some(2));
    let forged = MessageId::from_trusted(format!(
        "{}-2",
        first.as_str().rsplit_once('-').expect("a seq").0
    ));
    assert!(read(forged).await.is_none(), "seq 2 is another message");

    // A message as stored before ids carried their seq: a bare id, and a
    // pointer from it to the seq.
    let legacy = MessageId::from_trusted(ctx.ids.new_id_at(T0));
    let key = |sk: String| {
        std::collections::HashMap::from([
            ("pk".to_owned(), S(format!("ROOM#{}", room.id))),
            ("sk".to_owned(), S(sk)),
        ])
    };
    let mut old = raw
        .get_item()
        .table_name(&resources.table)
        .set_key(Some(key(format!("SEQ#{:020}", 1))))
        .send()
        .await
        .expect("read the first message")
        .item
        .expect("stored");
    old.insert("id".into(), S(legacy.as_str().into()));
    let mut pointer = key(format!("MSG#{legacy}"));
    pointer.insert("seq".into(), N("1".into()));
    for item in [old, pointer] {
        raw.put_item()
            .table_name(&resources.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("legacy item");
    }
    assert_eq!(
        read(legacy).await.map(|m| m.body.as_str().to_owned()),
        Some("one".to_owned())
    );
    assert!(
        read(first).await.is_none(),
        "its id changed with the rewrite"
    );
}

fn edit(text: &str, by: &str) -> MessageChange {
    MessageChange::Edit {
        body: MessageBody::from_trusted(text.into()),
        by: UserId::from_trusted(by.into()),
        at: T0.plus_secs(60),
    }
}

fn changed(outcome: ChangeMessage) -> Message {
    match outcome {
        ChangeMessage::Changed(m) => *m,
        other => panic!("not changed: {other:?}"),
    }
}

/// Edits and deletions take the room's next change number, keep the
/// message's place, and a client that saw changes up to N gets each
/// message changed since, once, as it is now.
async fn edits_and_deletions_are_numbered_and_caught_up(ctx: &Ctx) {
    let room = room(ctx).await;
    let mut ids = Vec::new();
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        let m = message(ctx, &room, T0.plus_secs(i as i64), text, None);
        ids.push(append(ctx, &m).await);
    }
    let m = &ctx.messages;
    let two = changed(
        m.change_message(&room.id, &ids[1], &edit("two, edited", "a"))
            .await
            .expect("edit"),
    );
    assert_eq!(
        (two.body.as_str(), two.seq, two.change, two.edited_at),
        ("two, edited", 2, 1, Some(T0.plus_secs(60)))
    );
    assert_eq!(
        m.change_message(&room.id, &ids[0], &edit("not mine", "b"))
            .await
            .expect("edit"),
        ChangeMessage::NotSender
    );
    let deleted = changed(
        m.change_message(
            &room.id,
            &ids[1],
            &MessageChange::Delete {
                by: None,
                at: T0.plus_secs(61),
            },
        )
        .await
        .expect("delete"),
    );
    assert_eq!(
        (deleted.body.as_str(), deleted.seq, deleted.change),
        ("", 2, 2)
    );
    assert!(deleted.is_deleted());
    assert_eq!(
        m.change_message(&room.id, &ids[1], &edit("back", "a"))
            .await
            .expect("edit"),
        ChangeMessage::AlreadyDeleted
    );
    let unknown = MessageId::from_trusted(ctx.ids.new_id_at(T0));
    assert_eq!(
        m.change_message(&room.id, &unknown, &edit("x", "a"))
            .await
            .expect("edit"),
        ChangeMessage::NotFound
    );
    let three = changed(
        m.change_message(&room.id, &ids[2], &edit("three, edited", "a"))
            .await
            .expect("edit"),
    );
    assert_eq!(three.change, 3);

    let room_id = &room.id;
    let since = |after: u64| async move {
        m.changes_after(room_id, after, 10)
            .await
            .expect("changes")
            .iter()
            .map(|c| (c.seq, c.change))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        since(0).await,
        vec![(2, 2), (3, 3)],
        "each message once, as it is now"
    );
    assert_eq!(since(2).await, vec![(3, 3)]);
    assert!(since(3).await.is_empty());

    // The history keeps the deleted message's place; the preview follows the last message.
    let history = m.history(&room.id, None, 10).await.expect("history");
    let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, vec![3, 2, 1]);
    assert!(history[1].is_deleted() && history[1].body.as_str().is_empty());
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(
        stored.last_message.map(|p| p.body.as_str().to_owned()),
        Some("three, edited".to_owned())
    );
    assert_eq!(
        m.message(&room.id, &ids[1]).await.expect("read"),
        Some(deleted)
    );
}

/// Changes to ten messages at once all land, with ten distinct numbers.
async fn concurrent_changes_take_distinct_numbers(ctx: &Ctx) {
    let room = room(ctx).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let m = message(ctx, &room, T0.plus_secs(i), &format!("m{i}"), None);
        ids.push(append(ctx, &m).await);
    }
    let room_id = &room.id;
    let edits = ids.iter().map(|id| async move {
        ctx.messages
            .change_message(room_id, id, &edit("edited", "a"))
            .await
    });
    let outcomes = futures_util::future::join_all(edits).await;
    let mut numbers: Vec<u64> = outcomes
        .into_iter()
        .map(|o| changed(o.expect("change")).change)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<u64>>());
    let caught_up = ctx
        .messages
        .changes_after(&room.id, 0, 100)
        .await
        .expect("changes");
    let order: Vec<u64> = caught_up.iter().map(|m| m.change).collect();
    assert_eq!(order, (1..=10).collect::<Vec<u64>>());
}

fn react(emoji: &str, by: &str, add: bool) -> MessageChange {
    MessageChange::React {
        emoji: Emoji::parse(emoji).expect("emoji"),
        by: UserId::from_trusted(by.into()),
        add,
    }
}

/// Reactions are changes: each one that changes something takes the next
/// change number; ten members reacting at once with one emoji all count;
/// reacting twice or taking back what is not there changes nothing; a
/// message takes at most [`MAX_REACTIONS_PER_MESSAGE`] emojis; deleting it
/// drops them.
async fn reactions_count_each_member_once_under_concurrency(ctx: &Ctx) {
    let room = room(ctx).await;
    let m = message(ctx, &room, T0, "react to me", None);
    let id = append(ctx, &m).await;
    let (room_id, id) = (&room.id, &id);
    let reactors: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let reactions = reactors.iter().map(|u| async move {
        ctx.messages
            .change_message(room_id, id, &react("👍", u, true))
            .await
    });
    let mut numbers: Vec<u64> = futures_util::future::join_all(reactions)
        .await
        .into_iter()
        .map(|o| changed(o.expect("react")).change)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<u64>>());

    let stored = ctx
        .messages
        .message(room_id, id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored.change, 10);
    assert_eq!(stored.reactions.len(), 1);
    let mut who: Vec<&str> = stored.reactions[0]
        .user_ids
        .iter()
        .map(UserId::as_str)
        .collect();
    who.sort_unstable();
    assert_eq!(who, reactors.iter().map(String::as_str).collect::<Vec<_>>());

    // "❤" and "❤️" are one emoji; the second time changes nothing.
    let heart = changed(
        ctx.messages
            .change_message(room_id, id, &react("\u{2764}", "u0", true))
            .await
            .expect("heart"),
    );
    assert_eq!(
        (heart.change, heart.reactions[1].emoji.as_str()),
        (11, "\u{2764}\u{FE0F}")
    );
    for again in [
        react("\u{2764}\u{FE0F}", "u0", true),
        react("🎉", "u0", false),
    ] {
        let outcome = ctx
            .messages
            .change_message(room_id, id, &again)
            .await
            .expect("again");
        assert_eq!(outcome, ChangeMessage::Unchanged);
    }
    let taken_back = changed(
        ctx.messages
            .change_message(room_id, id, &react("👍", "u3", false))
            .await
            .expect("take back"),
    );
    assert_eq!(taken_back.change, 12);
    assert_eq!(taken_back.reactions[0].user_ids.len(), 9);
    assert!(!taken_back.reactions[0]
        .user_ids
        .contains(&UserId::from_trusted("u3".into())));

    // History and the catch-up show the reactions as they are now.
    let page = ctx
        .messages
        .history(room_id, None, 10)
        .await
        .expect("history");
    assert_eq!(page[0].reactions, taken_back.reactions);
    let caught_up = ctx
        .messages
        .changes_after(room_id, 10, 100)
        .await
        .expect("changes");
    assert_eq!(caught_up.len(), 1, "one entry per changed message");
    assert_eq!(caught_up[0].reactions, taken_back.reactions);

    // Two emojis are on it; fill it up to the limit, then one more is refused.
    let more = [
        "😀", "😂", "😍", "😎", "😢", "😡", "🙏", "🔥", "🎉", "💯", "✅", "👀", "🚀", "🤔", "👏",
        "😅", "🙌", "💪", "🤝", "🍕",
    ];
    for emoji in more.iter().take(MAX_REACTIONS_PER_MESSAGE - 2) {
        changed(
            ctx.messages
                .change_message(room_id, id, &react(emoji, "u1", true))
                .await
                .expect("react"),
        );
    }
    let full = ctx
        .messages
        .change_message(room_id, id, &react("🍕", "u1", true))
        .await
        .expect("full");
    assert_eq!(full, ChangeMessage::TooManyReactions);
    // An emoji already there still takes more reactors.
    changed(
        ctx.messages
            .change_message(room_id, id, &react("😀", "u2", true))
            .await
            .expect("existing emoji"),
    );

    let deleted = changed(
        ctx.messages
            .change_message(
                room_id,
                id,
                &MessageChange::Delete {
                    by: None,
                    at: T0.plus_secs(5),
                },
            )
            .await
            .expect("delete"),
    );
    assert!(deleted.reactions.is_empty());
    let after_delete = ctx
        .messages
        .change_message(room_id, id, &react("👍", "u5", true))
        .await
        .expect("react to deleted");
    assert_eq!(after_delete, ChangeMessage::AlreadyDeleted);
}
