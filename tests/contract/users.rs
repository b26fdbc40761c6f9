use chat_core::domain::{Email, ProfileUpdate, Timestamp, UserId, Username};
use chat_core::ports::{Block, CreateUser, UpdateProfile};
use chat_core::Ctx;

use crate::contract;
use crate::support::{user, T0};

contract!(
    create_and_find_users,
    emails_and_usernames_are_unique,
    twenty_parallel_registrations_make_one_user,
    profile_updates_keep_usernames_unique,
    batch_reads_skip_missing_users,
    blocks_are_recorded_both_ways,
);

async fn create_and_find_users(ctx: &Ctx) {
    let alice = user(ctx, "Alice");
    assert_eq!(
        ctx.users.create_user(&alice).await.ok(),
        Some(CreateUser::Created)
    );
    let by_id = ctx
        .users
        .user_by_id(&alice.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_id.username.as_str(), "Alice");
    assert_eq!(by_id.password_hash, alice.password_hash);
    assert!(!by_id.email_verified);
    let by_email = ctx
        .users
        .user_by_email(&alice.email)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_email.id, alice.id);
    let by_name = ctx
        .users
        .user_by_username(&Username::parse("ALICE").expect("name"))
        .await
        .expect("read")
        .expect("found case-insensitively");
    assert_eq!(by_name.id, alice.id);
    ctx.users.mark_verified(&alice.id).await.expect("verify");
    ctx.users
        .set_last_seen(&alice.id, Timestamp::from_millis(42))
        .await
        .expect("seen");
    let again = ctx
        .users
        .user_by_id(&alice.id)
        .await
        .expect("read")
        .expect("found");
    assert!(again.email_verified);
    assert_eq!(again.last_seen, Some(Timestamp::from_millis(42)));
    let nobody = UserId::from_trusted("nobody".into());
    assert!(ctx.users.user_by_id(&nobody).await.expect("read").is_none());
    ctx.users
        .mark_verified(&nobody)
        .await
        .expect("no-op for unknown users");
    assert!(ctx
        .users
        .user_by_email(&Email::parse("nobody@example.com").expect("email"))
        .await
        .expect("read")
        .is_none());
}

async fn emails_and_usernames_are_unique(ctx: &Ctx) {
    let alice = user(ctx, "alice");
    ctx.users.create_user(&alice).await.expect("create");
    let mut same_email = user(ctx, "other");
    same_email.email = alice.email.clone();
    assert_eq!(
        ctx.users.create_user(&same_email).await.ok(),
        Some(CreateUser::EmailTaken)
    );
    let same_name = user(ctx, "ALICE");
    let mut same_name = same_name;
    same_name.email = Email::parse("alice2@example.com").expect("email");
    assert_eq!(
        ctx.users.create_user(&same_name).await.ok(),
        Some(CreateUser::UsernameTaken)
    );
    // Nothing of the refused users was stored.
    assert!(ctx
        .users
        .user_by_id(&same_email.id)
        .await
        .expect("read")
        .is_none());
    assert!(ctx
        .users
        .user_by_email(&same_name.email)
        .await
        .expect("read")
        .is_none());
}

async fn twenty_parallel_registrations_make_one_user(ctx: &Ctx) {
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let mut u = user(ctx, &format!("racer{i}"));
            u.email = Email::parse("race@example.com").expect("email");
            u
        })
        .collect();
    let results =
        futures_util::future::join_all(attempts.iter().map(|u| ctx.users.create_user(u))).await;
    let created = results
        .iter()
        .filter(|r| matches!(r, Ok(CreateUser::Created)))
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(CreateUser::Created | CreateUser::EmailTaken))));
    let winner = ctx
        .users
        .user_by_email(&Email::parse("race@example.com").expect("email"))
        .await
        .expect("read")
        .expect("one user");
    // The losers' usernames are still free.
    for u in attempts.iter().filter(|u| u.id != winner.id) {
        assert!(ctx
            .users
            .user_by_username(&u.username)
            .await
            .expect("read")
            .is_none());
    }
}

async fn profile_updates_keep_usernames_unique(ctx: &Ctx) {
    let alice = user(ctx, "alice");
    let bob = user(ctx, "bob");
    ctx.users.create_user(&alice).await.expect("create");
    ctx.users.create_user(&bob).await.expect("create");
    let rename = |name: &str| ProfileUpdate {
        username: Some(Username::parse(name).expect("name")),
        ..ProfileUpdate::default()
    };
    let taken = ctx
        .users
        .update_profile(&alice.id, &rename("Bob"))
        .await
        .expect("update");
    assert!(matches!(taken, UpdateProfile::UsernameTaken));
    let done = ctx
        .users
        .update_profile(&alice.id, &rename("alicia"))
        .await
        .expect("update");
    let UpdateProfile::Updated(updated) = done else {
        panic!("expected an update");
    };
    assert_eq!(updated.username.as_str(), "alicia");
    // The old name is free, the new one taken.
    assert!(ctx
        .users
        .user_by_username(&Username::parse("alice").expect("n"))
        .await
        .expect("read")
        .is_none());
    let found = ctx
        .users
        .user_by_username(&Username::parse("ALICIA").expect("n"))
        .await
        .expect("read");
    assert_eq!(found.map(|u| u.id), Some(alice.id.clone()));
    let bio = ProfileUpdate {
        bio: Some(chat_core::domain::ProfileText::parse("hello", 100).expect("bio")),
        picture_key: Some("profile-pictures/x".into()),
        ..ProfileUpdate::default()
    };
    ctx.users
        .update_profile(&alice.id, &bio)
        .await
        .expect("update");
    let stored = ctx
        .users
        .user_by_id(&alice.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(stored.bio.as_str(), "hello");
    assert_eq!(
        stored.username.as_str(),
        "alicia",
        "partial update keeps other fields"
    );
    assert_eq!(stored.picture_key.as_deref(), Some("profile-pictures/x"));
    let missing = ctx
        .users
        .update_profile(&UserId::from_trusted("ghost".into()), &bio)
        .await
        .expect("update");
    assert!(matches!(missing, UpdateProfile::NotFound));
}

async fn batch_reads_skip_missing_users(ctx: &Ctx) {
    let mut ids = Vec::new();
    for i in 0..120 {
        let u = user(ctx, &format!("member{i}"));
        ctx.users.create_user(&u).await.expect("create");
        ids.push(u.id);
    }
    ids.push(UserId::from_trusted("ghost".into()));
    ids.push(ids[0].clone());
    let found = ctx.users.users_by_ids(&ids).await.expect("read");
    assert_eq!(
        found.len(),
        120,
        "more than one batch, unknown and repeated ids handled"
    );
}

/// A block shows on both users' lists at once; blocking again keeps its
/// first time; unblocking takes it off both; unblocking what is not
/// blocked changes nothing.
async fn blocks_are_recorded_both_ways(ctx: &Ctx) {
    let [a, b, c] = ["a", "b", "c"].map(|_| UserId::from_trusted(ctx.ids.new_id()));
    ctx.users
        .set_block(&a, &b, true, T0)
        .await
        .expect("a blocks b");
    ctx.users
        .set_block(&c, &a, true, T0.plus_secs(1))
        .await
        .expect("c blocks a");
    ctx.users
        .set_block(&a, &c, true, T0.plus_secs(2))
        .await
        .expect("a blocks c");
    ctx.users
        .set_block(&a, &b, true, T0.plus_secs(3))
        .await
        .expect("a blocks b again");

    let of_a = ctx.users.blocks_of(&a).await.expect("a's blocks");
    assert_eq!(
        of_a.blocking,
        vec![
            Block {
                user_id: b.clone(),
                at: T0
            },
            Block {
                user_id: c.clone(),
                at: T0.plus_secs(2)
            },
        ],
        "oldest first, the first time kept"
    );
    assert_eq!(of_a.blocked_by, vec![c.clone()]);
    let of_b = ctx.users.blocks_of(&b).await.expect("b's blocks");
    assert!(of_b.blocking.is_empty());
    assert_eq!(of_b.blocked_by, vec![a.clone()]);
    assert!(of_b.between(&a) && of_a.between(&b) && of_a.between(&c));
    assert!(!of_b.between(&c));

    ctx.users
        .set_block(&a, &b, false, T0.plus_secs(4))
        .await
        .expect("a unblocks b");
    ctx.users
        .set_block(&b, &c, false, T0.plus_secs(4))
        .await
        .expect("unblocking what is not blocked");
    let of_a = ctx.users.blocks_of(&a).await.expect("a's blocks");
    assert_eq!(
        of_a.blocking.iter().map(|b| &b.user_id).collect::<Vec<_>>(),
        [&c]
    );
    let of_b = ctx.users.blocks_of(&b).await.expect("b's blocks");
    assert!(!of_b.between(&a), "{of_b:?}");
}
