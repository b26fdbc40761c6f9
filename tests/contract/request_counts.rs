//! What sending (over REST and over the socket), editing, reacting to,
//! deleting and reading a message cost in DynamoDB requests and capacity
//! units, counted by an SDK interceptor: none may grow with the room beyond
//! the batched reads of the members' connections, and none may cost more
//! than its budget. Write units are checked on Amazon's DynamoDB Local
//! (`DYNAMODB_ENDPOINT`), which reports them as DynamoDB bills them; moto's
//! figures are only printed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chat_aws::metrics::{RequestCounter, Units};
use chat_aws::setup::{AwsSettings, Needs};
use chat_core::adapters::ChannelNotifier;
use chat_core::domain::{Connection, Emoji, MessageBody, Role};
use chat_core::usecases::{messages, realtime};
use chat_core::ws::{self, ConnectionContext, WsEvent, WsRequestContext};
use chat_core::Ctx;

use crate::support::{config, group, member, user};

/// Requests per DynamoDB operation, and the capacity they consumed.
type Cost = (BTreeMap<String, usize>, Units);

/// The most requests and write units each operation may take in a room of
/// two (the first is a send over REST without a client id; the one over the
/// socket carries a client id, and its event the `$connect` authorizer's
/// context, so the connection is not read).
const BUDGETS: [(&str, usize, f64); 6] = [
    ("send a message", 6, 4.0),
    ("send a message over the socket", 6, 7.0),
    ("edit it", 4, 4.0),
    ("read it", 4, 1.0),
    ("react to it", 5, 5.0),
    ("delete it", 4, 4.0),
];

/// In a fresh room of `size` members, each with an open connection: the
/// requests of sending one message over REST and one over the sender's
/// socket (a `$default` event, as API Gateway delivers it), then of its
/// sender editing the first, of another member reading it and reacting to
/// it, and of the admin deleting it.
async fn costs_in_a_room_of(size: usize) -> [(&'static str, Cost); 6] {
    let resources = chat_tests::provision().await;
    let counter = RequestCounter::default();
    let aws = AwsSettings {
        table: resources.table.clone(),
        bucket: None,
        websocket_endpoint: None,
        picture_url_ttl: Duration::from_secs(900),
        s3_force_path_style: true,
    };
    let mut ctx: Ctx = chat_aws::setup::context(
        &config(&resources.mail_from),
        &aws,
        &resources.sdk,
        Needs::default(),
        Some(counter.clone()),
    )
    .expect("context");
    let sockets = Arc::new(ChannelNotifier::default());
    ctx.notifier = sockets.clone();
    let mut users = Vec::new();
    for i in 0..size {
        let u = user(&ctx, &format!("member{i}"));
        ctx.users.create_user(&u).await.expect("user");
        users.push(u);
    }
    let room = group(&ctx, &users[0].id);
    let members: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            member(
                &room,
                &u.id,
                if i == 0 { Role::Admin } else { Role::Member },
            )
        })
        .collect();
    ctx.rooms.create_group(&room, &members).await.expect("room");
    let mut inboxes = Vec::new();
    let now = ctx.clock.now();
    for (i, u) in users.iter().enumerate() {
        let id = format!("conn{i}=");
        inboxes.push(sockets.register(&id));
        let connection = Connection {
            id,
            user_id: u.id.clone(),
            room_id: None,
            connected_at: now,
            expires_at: now.plus_secs(7200),
            family: None,
        };
        ctx.connections
            .add_connection(&connection, now, usize::MAX)
            .await
            .expect("connect");
    }
    counter.reset();
    let body = MessageBody::parse("hello everyone").expect("body");
    let sent = messages::send(&ctx, &users[0].id, &room.id, body, None)
        .await
        .expect("send");
    let send = (counter.snapshot(), counter.units());
    // Every member's connection got the message.
    for inbox in &mut inboxes {
        let got = drain(inbox);
        assert!(
            got.contains("hello everyone"),
            "a member missed the message: {got}"
        );
    }
    counter.reset();
    let frame = serde_json::json!({
        "action": "send",
        "room_id": room.id.as_str(),
        "message": "and over the socket",
        "client_id": "over-the-socket-1",
    });
    let answer = ws::handle(
        &ctx,
        WsEvent {
            request_context: WsRequestContext {
                route_key: "$default".into(),
                connection_id: "conn0=".into(),
                // What the `$connect` authorizer told API Gateway.
                authorizer: Some(ConnectionContext {
                    user_id: Some(users[0].id.as_str().to_owned()),
                    expires_at: Some(now.plus_secs(7200).millis().to_string()),
                    ..ConnectionContext::default()
                }),
                ..WsRequestContext::default()
            },
            body: Some(frame.to_string()),
            ..WsEvent::default()
        },
    )
    .await;
    assert_eq!(answer.status_code, 200);
    let socket_send = (counter.snapshot(), counter.units());
    for inbox in &mut inboxes {
        let got = drain(inbox);
        assert!(
            got.contains("and over the socket"),
            "a member missed the message sent over the socket: {got}"
        );
    }
    let id = sent.message.id;
    counter.reset();
    let body = MessageBody::parse("hello, everyone").expect("body");
    messages::edit(&ctx, &users[0].id, &room.id, &id, body)
        .await
        .expect("edit");
    let edit = (counter.snapshot(), counter.units());
    counter.reset();
    realtime::read(&ctx, &users[1].id, &room.id, &id)
        .await
        .expect("read");
    let read = (counter.snapshot(), counter.units());
    counter.reset();
    let emoji = Emoji::parse("👍").expect("emoji");
    messages::react(&ctx, &users[1].id, &room.id, &id, emoji, true)
        .await
        .expect("react");
    let react = (counter.snapshot(), counter.units());
    counter.reset();
    messages::delete(&ctx, &users[0].id, &room.id, &id)
        .await
        .expect("delete");
    let delete = (counter.snapshot(), counter.units());
    [
        ("send a message", send),
        ("send a message over the socket", socket_send),
        ("edit it", edit),
        ("read it", read),
        ("react to it", react),
        ("delete it", delete),
    ]
}

/// Everything a connection was sent so far.
fn drain(inbox: &mut chat_core::adapters::SocketQueue) -> String {
    std::iter::from_fn(|| inbox.try_recv())
        .map(|command| format!("{command:?}"))
        .collect()
}

#[tokio::test]
async fn on_dynamodb_messages_cost_the_same_in_a_room_of_2_and_of_50() {
    let small = costs_in_a_room_of(2).await;
    let large = costs_in_a_room_of(50).await;
    let units_are_billed = chat_tests::dynamodb_endpoint().is_some();
    for ((what, (small, units)), (_, (large, large_units))) in small.iter().zip(large.iter()) {
        println!("DynamoDB requests: {what} (room of 2 | room of 50):");
        let operations: std::collections::BTreeSet<&String> =
            small.keys().chain(large.keys()).collect();
        for op in &operations {
            println!(
                "  {op:<20} {:>3} | {:>3}",
                small.get(*op).copied().unwrap_or(0),
                large.get(*op).copied().unwrap_or(0)
            );
        }
        println!(
            "  {:<20} {:>3} | {:>3}",
            "total",
            small.values().sum::<usize>(),
            large.values().sum::<usize>()
        );
        println!(
            "  {:<20} {:>5.1} | {:>5.1}\n  {:<20} {:>5.1} | {:>5.1}",
            "read units",
            units.read,
            large_units.read,
            "write units",
            units.write,
            large_units.write
        );
        // Connection reads are batched (100 users per BatchGetItem), member
        // reads paged (1 MB per Query page): 50 members fit in one of each.
        assert_eq!(
            small, large,
            "the cost of \"{what}\" must not grow with the room"
        );
        assert!(!small.contains_key("Scan"), "never a scan");
        let (requests, write_units) = BUDGETS
            .iter()
            .find(|(name, _, _)| name == what)
            .map(|(_, requests, units)| (*requests, *units))
            .unwrap_or_default();
        assert!(
            small.values().sum::<usize>() <= requests,
            "{what} costs more than {requests} requests: {small:?}"
        );
        if units_are_billed {
            assert!(
                units.write > 0.0 && units.write <= write_units,
                "{what} costs {} write units, its budget is {write_units}",
                units.write
            );
        }
    }
}
