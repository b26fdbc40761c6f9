use std::collections::HashSet;

use chat_core::domain::{Role, Room, RoomKind, UserId, Username};
use chat_core::ports::{AddMember, ChangeMember, CreateDirect};
use chat_core::Ctx;

use crate::contract;
use crate::support::{group, id, member, stored_room, T0};

contract!(
    groups_keep_members_and_counts,
    the_last_admin_rule,
    direct_rooms_are_one_per_pair,
    twenty_parallel_direct_chats_make_one_room,
    racing_admins_always_leave_one_admin,
    ten_adds_racing_for_one_free_place_add_one,
    muting_is_a_flag_of_the_membership,
    a_room_is_read_with_its_members,
    a_renamed_member_keeps_no_old_name,
);

/// What a send reads as its sender's username never stays the old one
/// after a rename: a store keeps the new name with every membership, or
/// none (the profile is read then). A membership that went stays gone.
async fn a_renamed_member_keeps_no_old_name(ctx: &Ctx) {
    let first = founded(ctx, &["a", "b"]).await;
    let second = founded(ctx, &["a", "b"]).await;
    assert_eq!(
        ctx.rooms.remove_member(&second.id, &uid("b")).await.ok(),
        Some(ChangeMember::Done)
    );
    let bea = Username::parse("bea").expect("username");
    ctx.rooms
        .set_member_username(&uid("b"), &bea)
        .await
        .expect("rename");
    ctx.rooms
        .set_member_username(&uid("b"), &bea)
        .await
        .expect("the same again");
    let name_of = |members: &[chat_core::domain::Member], user: &str| {
        members
            .iter()
            .find(|m| m.user_id.as_str() == user)
            .map(|m| m.username.as_ref().map(|u| u.as_str().to_owned()))
    };
    let (_, members) = ctx
        .rooms
        .room_and_members(&first.id)
        .await
        .expect("read")
        .expect("found");
    let b = name_of(&members, "b").expect("b is a member");
    assert!(matches!(b.as_deref(), None | Some("bea")), "{b:?}");
    let a = name_of(&members, "a").expect("a is a member");
    assert!(
        matches!(a.as_deref(), None | Some("a")),
        "a is untouched: {a:?}"
    );
    let (_, members) = ctx
        .rooms
        .room_and_members(&second.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(name_of(&members, "b"), None, "b left the second room");
    assert!(ctx
        .rooms
        .member(&second.id, &uid("b"))
        .await
        .expect("read")
        .is_none());
}

/// What a send reads: the room and every member, as `room` and `members`
/// give them; nothing for a room that does not exist.
async fn a_room_is_read_with_its_members(ctx: &Ctx) {
    let room = founded(ctx, &["a", "b", "c"]).await;
    let (read, mut with) = ctx
        .rooms
        .room_and_members(&room.id)
        .await
        .expect("read")
        .expect("found");
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!((read.id.clone(), read.member_count), (stored.id, 3));
    let mut alone = ctx.rooms.members(&room.id).await.expect("members");
    with.sort_by(|x, y| x.user_id.cmp(&y.user_id));
    alone.sort_by(|x, y| x.user_id.cmp(&y.user_id));
    let view = |ms: &[chat_core::domain::Member]| {
        ms.iter()
            .map(|m| (m.user_id.clone(), m.role, m.joined_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(view(&with), view(&alone));
    assert_eq!(
        with.iter()
            .map(|m| (m.user_id.as_str(), m.role))
            .collect::<Vec<_>>(),
        vec![("a", Role::Admin), ("b", Role::Member), ("c", Role::Member)]
    );
    let ghost = group(ctx, &uid("a"));
    assert!(ctx
        .rooms
        .room_and_members(&ghost.id)
        .await
        .expect("read")
        .is_none());
}

/// The size limit is part of the write: ten members added at once into a
/// room with one free place make it full, never over.
async fn ten_adds_racing_for_one_free_place_add_one(ctx: &Ctx) {
    let room = founded(ctx, &["a", "b", "c", "d"]).await;
    let adds = (0..10).map(|i| {
        let joiner = member(&room, &uid(&format!("joiner{i}")), Role::Member);
        async move { ctx.rooms.add_member(&joiner, 5).await }
    });
    let outcomes = futures_util::future::join_all(adds).await;
    let added = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(AddMember::Added)))
        .count();
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(AddMember::Full)))
        .count();
    assert_eq!((added, full), (1, 9), "{outcomes:?}");
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(stored.member_count, 5);
    assert_eq!(ctx.rooms.members(&room.id).await.expect("members").len(), 5);
}

fn uid(s: &str) -> UserId {
    UserId::from_trusted(s.to_owned())
}

/// A stored group of `users`, the first its admin.
async fn founded(ctx: &Ctx, users: &[&str]) -> Room {
    let room = group(ctx, &uid(users[0]));
    let members: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let role = if i == 0 { Role::Admin } else { Role::Member };
            member(&room, &uid(u), role)
        })
        .collect();
    ctx.rooms
        .create_group(&room, &members)
        .await
        .expect("create");
    room
}

async fn groups_keep_members_and_counts(ctx: &Ctx) {
    let room = group(ctx, &uid("a"));
    let members = [
        member(&room, &uid("a"), Role::Admin),
        member(&room, &uid("b"), Role::Member),
    ];
    ctx.rooms
        .create_group(&room, &members)
        .await
        .expect("create");
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!((stored.member_count, stored.admin_count), (2, 1));
    assert_eq!(stored.name.as_ref().map(|n| n.as_str()), Some("Team"));
    assert_eq!(
        ctx.rooms
            .add_member(&member(&room, &uid("c"), Role::Member), 100)
            .await
            .ok(),
        Some(AddMember::Added)
    );
    assert_eq!(
        ctx.rooms
            .add_member(&member(&room, &uid("c"), Role::Admin), 100)
            .await
            .ok(),
        Some(AddMember::AlreadyMember)
    );
    let ghost = group(ctx, &uid("a"));
    assert_eq!(
        ctx.rooms
            .add_member(&member(&ghost, &uid("c"), Role::Member), 100)
            .await
            .ok(),
        Some(AddMember::NoRoom)
    );
    assert!(
        ctx.rooms
            .member(&ghost.id, &uid("c"))
            .await
            .expect("read")
            .is_none(),
        "nothing half-written"
    );
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!((stored.member_count, stored.admin_count), (3, 1));
    let listed: HashSet<String> = ctx
        .rooms
        .members(&room.id)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.user_id.to_string())
        .collect();
    assert_eq!(
        listed,
        HashSet::from(["a".to_owned(), "b".to_owned(), "c".to_owned()])
    );
    assert_eq!(
        ctx.rooms
            .member(&room.id, &uid("c"))
            .await
            .expect("read")
            .map(|m| m.role),
        Some(Role::Member)
    );
    let other = group(ctx, &uid("c"));
    ctx.rooms
        .create_group(&other, &[member(&other, &uid("c"), Role::Admin)])
        .await
        .expect("create");
    let mine: HashSet<String> = ctx
        .rooms
        .rooms_of(&uid("c"))
        .await
        .expect("read")
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        mine,
        HashSet::from([room.id.to_string(), other.id.to_string()])
    );
    assert_eq!(
        ctx.rooms.remove_member(&room.id, &uid("c")).await.ok(),
        Some(ChangeMember::Done)
    );
    assert_eq!(
        ctx.rooms.remove_member(&room.id, &uid("c")).await.ok(),
        Some(ChangeMember::NotMember)
    );
    assert_eq!(ctx.rooms.rooms_of(&uid("c")).await.expect("read").len(), 1);
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(stored.member_count, 2);
}

async fn the_last_admin_rule(ctx: &Ctx) {
    let room = group(ctx, &uid("a"));
    ctx.rooms
        .create_group(
            &room,
            &[
                member(&room, &uid("a"), Role::Admin),
                member(&room, &uid("b"), Role::Member),
            ],
        )
        .await
        .expect("create");
    assert_eq!(
        ctx.rooms.remove_member(&room.id, &uid("a")).await.ok(),
        Some(ChangeMember::LastAdmin)
    );
    assert_eq!(
        ctx.rooms
            .set_role(&room.id, &uid("a"), Role::Member)
            .await
            .ok(),
        Some(ChangeMember::LastAdmin)
    );
    assert_eq!(
        ctx.rooms
            .set_role(&room.id, &uid("b"), Role::Admin)
            .await
            .ok(),
        Some(ChangeMember::Done)
    );
    assert_eq!(
        ctx.rooms
            .set_role(&room.id, &uid("b"), Role::Admin)
            .await
            .ok(),
        Some(ChangeMember::Done),
        "no-op"
    );
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!(stored.admin_count, 2);
    assert_eq!(
        ctx.rooms
            .set_role(&room.id, &uid("a"), Role::Member)
            .await
            .ok(),
        Some(ChangeMember::Done)
    );
    assert_eq!(
        ctx.rooms
            .set_role(&room.id, &uid("zz"), Role::Admin)
            .await
            .ok(),
        Some(ChangeMember::NotMember)
    );
    assert_eq!(
        ctx.rooms.remove_member(&room.id, &uid("a")).await.ok(),
        Some(ChangeMember::Done)
    );
    // The sole remaining member, an admin, may leave the room empty.
    assert_eq!(
        ctx.rooms.remove_member(&room.id, &uid("b")).await.ok(),
        Some(ChangeMember::Done)
    );
    let stored = stored_room(ctx, &room.id).await;
    assert_eq!((stored.member_count, stored.admin_count), (0, 0));
}

fn direct(ctx: &Ctx, a: &str) -> Room {
    Room {
        kind: RoomKind::Direct,
        name: None,
        ..group(ctx, &uid(a))
    }
}

async fn direct_rooms_are_one_per_pair(ctx: &Ctx) {
    let first = direct(ctx, "x");
    let created = ctx
        .rooms
        .create_direct(
            &first,
            &[
                member(&first, &uid("x"), Role::Member),
                member(&first, &uid("y"), Role::Member),
            ],
        )
        .await
        .expect("create");
    assert!(matches!(created, CreateDirect::Created(_)));
    let second = direct(ctx, "y");
    let again = ctx
        .rooms
        .create_direct(
            &second,
            &[
                member(&second, &uid("y"), Role::Member),
                member(&second, &uid("x"), Role::Member),
            ],
        )
        .await
        .expect("create");
    let CreateDirect::Existing(existing) = again else {
        panic!("a second room for the pair");
    };
    assert_eq!(existing.id, first.id);
    assert!(
        ctx.rooms.room(&second.id).await.expect("read").is_none(),
        "the loser left nothing behind"
    );
    assert!(ctx
        .rooms
        .member(&second.id, &uid("y"))
        .await
        .expect("read")
        .is_none());
    assert_eq!(id(ctx).len(), 26);
    assert_eq!(existing.created_at, T0);
}

async fn twenty_parallel_direct_chats_make_one_room(ctx: &Ctx) {
    let attempts: Vec<Room> = (0..20)
        .map(|i| direct(ctx, if i % 2 == 0 { "p" } else { "q" }))
        .collect();
    let results = futures_util::future::join_all(attempts.iter().enumerate().map(|(i, room)| {
        let (a, b) = if i % 2 == 0 { ("p", "q") } else { ("q", "p") };
        let pair = [
            member(room, &uid(a), Role::Member),
            member(room, &uid(b), Role::Member),
        ];
        async move { ctx.rooms.create_direct(room, &pair).await }
    }))
    .await;
    let ids: HashSet<String> = results
        .iter()
        .map(|r| match r {
            Ok(CreateDirect::Created(room) | CreateDirect::Existing(room)) => room.id.to_string(),
            Err(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(ctx.rooms.rooms_of(&uid("p")).await.expect("read").len(), 1);
}

/// Two admins step down at once, then two admins leave at once: each time
/// one succeeds and the other is refused, so the room keeps an admin.
async fn racing_admins_always_leave_one_admin(ctx: &Ctx) {
    for leave in [false, true] {
        let room = group(ctx, &uid("a"));
        ctx.rooms
            .create_group(
                &room,
                &[
                    member(&room, &uid("a"), Role::Admin),
                    member(&room, &uid("b"), Role::Admin),
                    member(&room, &uid("c"), Role::Member),
                ],
            )
            .await
            .expect("create");
        let step_down = |user: &'static str| {
            let room = room.id.clone();
            async move {
                if leave {
                    ctx.rooms.remove_member(&room, &uid(user)).await
                } else {
                    ctx.rooms.set_role(&room, &uid(user), Role::Member).await
                }
            }
        };
        let (a, b) = tokio::join!(step_down("a"), step_down("b"));
        let mut outcomes = [a.expect("a"), b.expect("b")];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [ChangeMember::Done, ChangeMember::LastAdmin],
            "leave: {leave}"
        );
        let stored = stored_room(ctx, &room.id).await;
        assert_eq!(stored.admin_count, 1, "leave: {leave}");
        let admins = ctx
            .rooms
            .members(&room.id)
            .await
            .expect("read")
            .into_iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "leave: {leave}");
    }
}

/// A member mutes and unmutes a room for themselves; an outsider cannot;
/// the flag goes with the membership (removed and added again: not muted).
async fn muting_is_a_flag_of_the_membership(ctx: &Ctx) {
    let (a, b) = (UserId::from_trusted(id(ctx)), UserId::from_trusted(id(ctx)));
    let room = group(ctx, &a);
    let other = group(ctx, &a);
    for r in [&room, &other] {
        ctx.rooms
            .create_group(
                r,
                &[member(r, &a, Role::Admin), member(r, &b, Role::Member)],
            )
            .await
            .expect("room");
    }
    let both = [room.id.clone(), other.id.clone()];
    let muted = |user: UserId| {
        let both = both.clone();
        async move { ctx.rooms.muted_among(&user, &both).await.expect("muted") }
    };
    assert!(muted(b.clone()).await.is_empty());
    assert_eq!(
        ctx.rooms.set_muted(&room.id, &b, true).await.expect("mute"),
        ChangeMember::Done
    );
    assert_eq!(muted(b.clone()).await, HashSet::from([room.id.clone()]));
    assert!(
        muted(a.clone()).await.is_empty(),
        "only for the one who muted"
    );
    assert_eq!(
        ctx.rooms
            .set_muted(&room.id, &UserId::from_trusted(id(ctx)), true)
            .await
            .expect("outsider"),
        ChangeMember::NotMember
    );
    ctx.rooms
        .set_muted(&other.id, &b, true)
        .await
        .expect("mute");
    ctx.rooms
        .set_muted(&other.id, &b, false)
        .await
        .expect("unmute");
    assert_eq!(muted(b.clone()).await, HashSet::from([room.id.clone()]));

    assert_eq!(
        ctx.rooms.remove_member(&room.id, &b).await.expect("remove"),
        ChangeMember::Done
    );
    assert_eq!(
        ctx.rooms
            .add_member(&member(&room, &b, Role::Member), 10)
            .await
            .expect("add"),
        AddMember::Added
    );
    assert!(muted(b).await.is_empty(), "a new membership is not muted");
}
