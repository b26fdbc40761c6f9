use std::sync::Arc;
use std::time::Duration;

use chat_aws::setup::{AwsSettings, Needs};
use chat_core::adapters::{
    ChannelNotifier, ManualClock, MemoryBlobStore, MemoryStore, RecordingMailer,
};
use chat_core::config::{Config, Secret, Settings};
use chat_core::domain::{
    Email, Member, ProfileText, Role, Room, RoomId, RoomKind, RoomName, Timestamp, User, UserId,
    Username,
};
use chat_core::Ctx;

/// Runs one contract case against the embedded, the DynamoDB and the Redis adapters.
#[macro_export]
macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test]
                async fn embedded() {
                    super::$case(&$crate::support::embedded()).await;
                }

                #[tokio::test]
                async fn dynamodb() {
                    super::$case(&$crate::support::dynamodb().await.0).await;
                }

                #[tokio::test]
                async fn redis() {
                    super::$case(&$crate::support::redis().await).await;
                }
            }
        )+
    };
}

pub fn config(mail_from: &str) -> Config {
    Config {
        jwt_secret: Secret::new(b"contract tests secret, thirty-two bytes+".to_vec())
            .expect("secret"),
        settings: Settings {
            mail_from: mail_from.to_owned(),
            ..Settings::default()
        },
    }
}

pub fn embedded() -> Ctx {
    Ctx::with_store(
        &config("no-reply@chat.test"),
        Arc::new(MemoryStore::new()),
        Arc::new(ChannelNotifier::default()),
        Arc::new(RecordingMailer::default()),
        Arc::new(MemoryBlobStore::new("http://127.0.0.1:1", &[7; 32])),
        Arc::new(ManualClock::starting_now()),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    )
}

/// The store ports on the Redis server of `REDIS_URL`, under a prefix of
/// their own; blobs, mail and pushes stay embedded.
pub async fn redis() -> Ctx {
    let store =
        chat_redis::RedisStore::connect(&chat_tests::redis_url(), &chat_tests::unique("chat"))
            .await
            .expect("connect to redis");
    redis_over(store)
}

/// The store ports on `store`; blobs, mail and pushes stay embedded.
pub fn redis_over(store: chat_redis::RedisStore) -> Ctx {
    Ctx::with_store(
        &config("no-reply@chat.test"),
        Arc::new(store),
        Arc::new(ChannelNotifier::default()),
        Arc::new(RecordingMailer::default()),
        Arc::new(MemoryBlobStore::new("http://127.0.0.1:1", &[7; 32])),
        Arc::new(ManualClock::starting_now()),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    )
}

pub async fn dynamodb() -> (Ctx, chat_tests::AwsResources) {
    let resources = chat_tests::provision().await;
    (dynamodb_on(&resources), resources)
}

/// The ports on `resources`, as one more process would have them (with
/// nothing remembered of the others' writes).
pub fn dynamodb_on(resources: &chat_tests::AwsResources) -> Ctx {
    let aws = AwsSettings {
        table: resources.table.clone(),
        bucket: Some(resources.bucket.clone()),
        websocket_endpoint: None,
        picture_url_ttl: Duration::from_secs(900),
        s3_force_path_style: true,
    };
    let needs = Needs {
        mail: true,
        blobs: true,
        notifier: false,
    };
    chat_aws::setup::context(
        &config(&resources.mail_from),
        &aws,
        &resources.sdk,
        needs,
        None,
    )
    .expect("context")
}

/// The room as the store has it now.
pub async fn stored_room(ctx: &Ctx, id: &RoomId) -> Room {
    ctx.rooms.room(id).await.expect("read").expect("found")
}

pub const T0: Timestamp = Timestamp::from_millis(1_800_000_000_000);

pub fn id(ctx: &Ctx) -> String {
    ctx.ids.new_id()
}

pub fn user(ctx: &Ctx, name: &str) -> User {
    User {
        id: UserId::from_trusted(id(ctx)),
        username: Username::parse(name).expect("username"),
        email: Email::parse(&format!("{}@example.com", name.to_lowercase())).expect("email"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email_verified: false,
        first_name: ProfileText::default(),
        last_name: ProfileText::default(),
        bio: ProfileText::default(),
        picture_key: None,
        created_at: T0,
        last_seen: None,
        password_changed_at: None,
    }
}

pub fn group(ctx: &Ctx, creator: &UserId) -> Room {
    Room {
        id: RoomId::from_trusted(id(ctx)),
        kind: RoomKind::Group,
        name: Some(RoomName::parse("Team").expect("name")),
        created_by: creator.clone(),
        created_at: T0,
        member_count: 0,
        admin_count: 0,
        last_message: None,
        last_seq: 0,
    }
}

pub fn member(room: &Room, user: &UserId, role: Role) -> Member {
    Member {
        room_id: room.id.clone(),
        user_id: user.clone(),
        role,
        joined_at: T0,
        // The use cases give the member's username; the id stands in for
        // it here (the stores keep it, never check it).
        username: Some(Username::from_trusted(user.to_string())),
        muted: None,
    }
}
