//! Micro-benchmarks of the hot paths: verifying an access token, the
//! send-message use-case on the embedded store, fanning a message out to
//! a room of 50 connected members, and a read receipt in a room of 100 and
//! of 100,000 messages (the same cost: the message is found by its index).
//! Run: `cargo bench -p chat-core`.

use std::sync::Arc;

use chat_core::adapters::{
    ChannelNotifier, ConsoleMailer, ManualClock, MemoryBlobStore, MemoryStore,
};
use chat_core::config::{Config, Secret};
use chat_core::domain::{
    Connection, Email, Member, Message, MessageBody, MessageId, ProfileText, Role, Room, RoomId,
    RoomKind, RoomName, Timestamp, User, UserId, Username,
};
use chat_core::security::jwt::{Claims, TokenType};
use chat_core::usecases::{messages, realtime};
use chat_core::Ctx;
use criterion::{criterion_group, criterion_main, Criterion};

const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

fn new_ctx(notifier: Arc<ChannelNotifier>) -> Ctx {
    let config = Config {
        jwt_secret: Secret::new(vec![42; 32]).expect("secret"),
        settings: chat_core::config::Settings {
            send_max_per_minute: u32::MAX,
            ..Default::default()
        },
    };
    Ctx::with_store(
        &config,
        Arc::new(MemoryStore::new()),
        notifier,
        Arc::new(ConsoleMailer),
        Arc::new(MemoryBlobStore::new("http://127.0.0.1", &[7; 32])),
        Arc::new(ManualClock::new(NOW)),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    )
}

fn user(i: usize) -> User {
    User {
        id: UserId::from_trusted(format!("user{i}")),
        username: Username::from_trusted(format!("user{i}")),
        email: Email::from_trusted(format!("user{i}@example.com")),
        password_hash: String::new(),
        email_verified: true,
        first_name: ProfileText::default(),
        last_name: ProfileText::default(),
        bio: ProfileText::default(),
        picture_key: None,
        created_at: NOW,
        last_seen: None,
        password_changed_at: None,
    }
}

/// A room of `size` members, each with one open connection.
fn room(
    rt: &tokio::runtime::Runtime,
    ctx: &Ctx,
    sockets: &ChannelNotifier,
    size: usize,
) -> (RoomId, Vec<chat_core::adapters::SocketQueue>) {
    let room = Room {
        id: RoomId::from_trusted("room".into()),
        kind: RoomKind::Group,
        name: Some(RoomName::from_trusted("bench".into())),
        created_by: UserId::from_trusted("user0".into()),
        created_at: NOW,
        member_count: 0,
        admin_count: 0,
        last_message: None,
        last_seq: 0,
    };
    let mut inboxes = Vec::new();
    rt.block_on(async {
        let mut members = Vec::new();
        for i in 0..size {
            let u = user(i);
            ctx.users.create_user(&u).await.expect("user");
            members.push(Member {
                room_id: room.id.clone(),
                user_id: u.id.clone(),
                role: Role::Member,
                joined_at: NOW,
                username: Some(u.username.clone()),
                muted: None,
            });
            let id = format!("conn{i}");
            inboxes.push(sockets.register(&id));
            let c = Connection {
                id,
                user_id: u.id,
                room_id: None,
                connected_at: NOW,
                expires_at: NOW.plus_secs(7200),
                family: None,
            };
            ctx.connections
                .add_connection(&c, NOW, usize::MAX)
                .await
                .expect("connection");
        }
        ctx.rooms.create_group(&room, &members).await.expect("room");
    });
    (room.id, inboxes)
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    let sockets = Arc::new(ChannelNotifier::default());
    let ctx = new_ctx(sockets.clone());
    let token = ctx
        .jwt
        .sign(&Claims {
            sub: "user0".into(),
            token_type: TokenType::Access,
            exp: NOW.secs() + 3600,
            iat: NOW.secs(),
            jti: "j".into(),
            fam: None,
        })
        .expect("token");
    c.bench_function("verify access token", |b| {
        b.iter(|| {
            ctx.jwt
                .verify(&token, TokenType::Access, NOW)
                .expect("valid")
        })
    });

    let quiet = new_ctx(Arc::new(ChannelNotifier::default()));
    let (room2, _none) = room(&rt, &quiet, &ChannelNotifier::default(), 2);
    let sender = UserId::from_trusted("user0".into());
    c.bench_function(
        "send message (embedded store, room of 2, nobody connected)",
        |b| {
            b.to_async(&rt).iter(|| async {
                messages::send(
                    &quiet,
                    &sender,
                    &room2,
                    MessageBody::from_trusted("hello".into()),
                    None,
                )
                .await
                .expect("sent")
            })
        },
    );

    for history in [100, 100_000] {
        let store = new_ctx(Arc::new(ChannelNotifier::default()));
        let (room, _none) = room(&rt, &store, &ChannelNotifier::default(), 2);
        let middle = rt.block_on(async {
            let mut middle = None;
            for i in 0..history {
                let sent = messages::send(
                    &store,
                    &sender,
                    &room,
                    MessageBody::from_trusted(format!("message {i}")),
                    None,
                )
                .await
                .expect("sent");
                if i == history / 2 {
                    middle = Some(sent.message.id);
                }
            }
            middle.expect("a middle message")
        });
        let reader = UserId::from_trusted("user1".into());
        c.bench_function(
            &format!("read receipt in a room of {history} messages"),
            |b| {
                b.to_async(&rt).iter(|| async {
                    realtime::read(&store, &reader, &room, &middle)
                        .await
                        .expect("read")
                })
            },
        );
    }

    let (room50, inboxes) = room(&rt, &ctx, &sockets, 50);
    let inboxes = std::sync::Mutex::new(inboxes);
    let members = rt
        .block_on(chat_core::usecases::rooms::member_ids(&ctx, &room50))
        .expect("members");
    let message = Message {
        id: MessageId::from_trusted("01JD0000000000000000000000".into()),
        room_id: room50,
        sender_id: sender.clone(),
        sender_username: Username::from_trusted("user0".into()),
        body: MessageBody::from_trusted("hello everyone".into()),
        created_at: NOW,
        client_id: None,
        seq: 1,
        edited_at: None,
        deleted_at: None,
        change: 0,
        reactions: Vec::new(),
        attachments: Vec::new(),
    };
    c.bench_function("fan out to a room of 50 connected members", |b| {
        b.to_async(&rt).iter(|| async {
            realtime::fan_out_message(&ctx, &message, &members).await;
            // Empty the sockets' queues so that memory stays flat.
            if let Ok(mut inboxes) = inboxes.lock() {
                for inbox in inboxes.iter_mut() {
                    while inbox.try_recv().is_some() {}
                }
            }
        })
    });
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
