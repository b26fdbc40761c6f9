//! Rooms and their members, with the admin rules of group rooms.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::{Member, Role, Room, RoomId, RoomKind, RoomName, User, UserId, Username};
use crate::ports::{AddMember, ChangeMember, CreateDirect};
use crate::{Ctx, Error, Result};

/// What a caller asked for when creating a room.
#[derive(Debug)]
pub enum NewRoom {
    /// A named group with these other members.
    Group {
        /// The group's name.
        name: RoomName,
        /// The other members (the creator is added as admin).
        members: Vec<UserId>,
    },
    /// The direct room with this other user.
    Direct {
        /// The other participant.
        with: UserId,
    },
}

/// A room and whether this call created it.
#[derive(Debug)]
pub struct Created {
    /// The room.
    pub room: Room,
    /// False when an existing direct room was returned.
    pub created: bool,
}

/// A member together with their account, for member lists.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// The membership.
    pub member: Member,
    /// The account.
    pub user: User,
    /// Whether the user has a live connection.
    pub online: bool,
}

/// The room, if `user` is a member; otherwise "not found", so that outsiders
/// cannot learn which rooms exist.
pub async fn room_for_member(ctx: &Ctx, user: &UserId, room: &RoomId) -> Result<(Room, Member)> {
    let member = ctx
        .rooms
        .member(room, user)
        .await?
        .ok_or_else(Error::room_not_found)?;
    let room = ctx
        .rooms
        .room(room)
        .await?
        .ok_or_else(Error::room_not_found)?;
    Ok((room, member))
}

/// The rooms of `user`, most recently active first.
pub async fn list(ctx: &Ctx, user: &UserId) -> Result<Vec<Room>> {
    let mut rooms = ctx.rooms.rooms_of(user).await?;
    rooms.sort_by(|a, b| {
        b.last_activity()
            .cmp(&a.last_activity())
            .then_with(|| b.id.cmp(&a.id))
    });
    Ok(rooms)
}

/// Creates a group room, or creates/returns the direct room with one user.
pub async fn create(ctx: &Ctx, creator: &UserId, request: NewRoom) -> Result<Created> {
    match request {
        NewRoom::Direct { with } => direct(ctx, creator, &with).await,
        NewRoom::Group { name, members } => group(ctx, creator, name, members).await,
    }
}

async fn group(
    ctx: &Ctx,
    creator: &UserId,
    name: RoomName,
    members: Vec<UserId>,
) -> Result<Created> {
    let others: BTreeSet<UserId> = members.into_iter().filter(|m| m != creator).collect();
    if others.len() + 1 > ctx.settings.max_group_members {
        return Err(Error::field(
            "members",
            format!(
                "A group can have at most {} members.",
                ctx.settings.max_group_members
            ),
        ));
    }
    let wanted: Vec<UserId> = others.iter().cloned().collect();
    let found: BTreeMap<UserId, Username> = ctx
        .users
        .users_by_ids(&wanted)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let unknown: Vec<String> = others
        .iter()
        .filter(|id| !found.contains_key(*id))
        .map(|id| format!("Unknown user id: {id}."))
        .collect();
    if !unknown.is_empty() {
        let mut errors = crate::error::FieldErrors::new();
        errors.insert("members".into(), unknown);
        return Err(Error::Validation(errors));
    }
    let creator_name = super::profile::me(ctx, creator).await?.username;
    let now = ctx.clock.now();
    let room = Room {
        id: RoomId::from_trusted(ctx.ids.new_id()),
        kind: RoomKind::Group,
        name: Some(name),
        created_by: creator.clone(),
        created_at: now,
        member_count: u32::try_from(others.len() + 1).unwrap_or(u32::MAX),
        admin_count: 1,
        last_message: None,
        last_seq: 0,
    };
    let member = |user: &UserId, username: &Username, role| Member {
        room_id: room.id.clone(),
        user_id: user.clone(),
        role,
        joined_at: now,
        username: Some(username.clone()),
        muted: None,
    };
    let mut all = vec![member(creator, &creator_name, Role::Admin)];
    all.extend(found.iter().map(|(u, name)| member(u, name, Role::Member)));
    ctx.rooms.create_group(&room, &all).await?;
    Ok(Created {
        room,
        created: true,
    })
}

/// The direct room of `caller` and `other`, created on first use. However
/// often and however concurrently it is called, a pair has one room.
pub async fn direct(ctx: &Ctx, caller: &UserId, other: &UserId) -> Result<Created> {
    if caller == other {
        return Err(Error::BadRequest(
            "You cannot start a direct chat with yourself.".into(),
        ));
    }
    let Some(other_user) = ctx.users.user_by_id(other).await? else {
        return Err(Error::user_not_found());
    };
    super::blocks::check_direct(ctx, caller, other).await?;
    let caller_name = super::profile::me(ctx, caller).await?.username;
    let now = ctx.clock.now();
    let room = Room {
        id: RoomId::from_trusted(ctx.ids.new_id()),
        kind: RoomKind::Direct,
        name: None,
        created_by: caller.clone(),
        created_at: now,
        member_count: 2,
        admin_count: 0,
        last_message: None,
        last_seq: 0,
    };
    let member = |user: &UserId, username: Username| Member {
        room_id: room.id.clone(),
        user_id: user.clone(),
        role: Role::Member,
        joined_at: now,
        username: Some(username),
        muted: None,
    };
    let pair = [
        member(caller, caller_name),
        member(other, other_user.username),
    ];
    Ok(match ctx.rooms.create_direct(&room, &pair).await? {
        CreateDirect::Created(room) => Created {
            room: *room,
            created: true,
        },
        CreateDirect::Existing(room) => Created {
            room: *room,
            created: false,
        },
    })
}

/// The room `user` is a member of, with every member, read together (404
/// to anyone else, as [`room_for_member`]).
pub async fn room_with_members_for(
    ctx: &Ctx,
    user: &UserId,
    room: &RoomId,
) -> Result<(Room, Vec<Member>)> {
    match ctx.rooms.room_and_members(room).await? {
        Some((room, members)) if members.iter().any(|m| m.user_id == *user) => Ok((room, members)),
        _ => Err(Error::room_not_found()),
    }
}

/// Refuses `caller` writing to a direct room (whose `members` are given)
/// whose other participant is in a block with them, either way; group rooms
/// are not affected.
pub async fn check_may_write(
    ctx: &Ctx,
    caller: &UserId,
    room: &Room,
    members: &[Member],
) -> Result<()> {
    if room.kind != RoomKind::Direct {
        return Ok(());
    }
    for member in members {
        if member.user_id != *caller {
            super::blocks::check_direct(ctx, caller, &member.user_id).await?;
        }
    }
    Ok(())
}

/// The members of a room the caller belongs to, with their accounts.
pub async fn members(ctx: &Ctx, caller: &UserId, room: &RoomId) -> Result<Vec<MemberView>> {
    room_for_member(ctx, caller, room).await?;
    with_users(ctx, caller, ctx.rooms.members(room).await?).await
}

/// The ids of a room's members.
pub async fn member_ids(ctx: &Ctx, room: &RoomId) -> Result<Vec<UserId>> {
    Ok(ctx
        .rooms
        .members(room)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Joins memberships with their accounts as `viewer` sees them (members
/// whose account is gone are left out): the presence of a user in a block
/// with the viewer, either way, is hidden (offline, never seen).
pub async fn with_users(
    ctx: &Ctx,
    viewer: &UserId,
    members: Vec<Member>,
) -> Result<Vec<MemberView>> {
    let ids: Vec<UserId> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = ctx.users.users_by_ids(&ids).await?;
    let online = super::presence::online_users(ctx, &ids).await?;
    let blocks = super::blocks::of(ctx, viewer).await?;
    let mut views: Vec<MemberView> = members
        .into_iter()
        .filter_map(|member| {
            let mut user = users.iter().find(|u| u.id == member.user_id)?.clone();
            let hidden = blocks.between(&member.user_id);
            if hidden {
                user.last_seen = None;
            }
            let online = online.contains(&member.user_id) && !hidden;
            Some(MemberView {
                member,
                user,
                online,
            })
        })
        .collect();
    views.sort_by(|a, b| {
        (a.member.joined_at, &a.member.user_id).cmp(&(b.member.joined_at, &b.member.user_id))
    });
    Ok(views)
}

/// Checks that `caller` administers the group room `room`.
async fn admin_of_group(ctx: &Ctx, caller: &UserId, room: &RoomId) -> Result<Room> {
    let (room, member) = room_for_member(ctx, caller, room).await?;
    if room.kind == RoomKind::Direct {
        return Err(Error::BadRequest(
            "The members of a direct chat cannot be changed.".into(),
        ));
    }
    if member.role != Role::Admin {
        return Err(Error::forbidden("Only room admins can do this."));
    }
    Ok(room)
}

/// An admin adds a user to a group room.
pub async fn add_member(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    user: &UserId,
    role: Role,
) -> Result<MemberView> {
    let room = admin_of_group(ctx, caller, room).await?;
    let Some(added) = ctx.users.user_by_id(user).await? else {
        return Err(Error::field("user_id", "User not found."));
    };
    if usize::try_from(room.member_count).unwrap_or(usize::MAX) >= ctx.settings.max_group_members {
        return Err(room_full(ctx));
    }
    let member = Member {
        room_id: room.id.clone(),
        user_id: user.clone(),
        role,
        joined_at: ctx.clock.now(),
        username: Some(added.username),
        muted: None,
    };
    let limit = u32::try_from(ctx.settings.max_group_members).unwrap_or(u32::MAX);
    match ctx.rooms.add_member(&member, limit).await? {
        AddMember::Added => with_users(ctx, caller, vec![member])
            .await?
            .pop()
            .ok_or_else(Error::member_not_found),
        AddMember::AlreadyMember => Err(Error::Conflict(
            "The user is already a member of this room.".into(),
        )),
        AddMember::NoRoom => Err(Error::room_not_found()),
        AddMember::Full => Err(room_full(ctx)),
    }
}

/// Removes `target` from a group room: an admin may remove anyone, anyone
/// may remove themselves (leave). The last admin cannot leave other members
/// without an admin.
pub async fn remove_member(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    target: &UserId,
) -> Result<()> {
    if caller == target {
        let (room, _) = room_for_member(ctx, caller, room).await?;
        if room.kind == RoomKind::Direct {
            return Err(Error::BadRequest("You cannot leave a direct chat.".into()));
        }
    } else {
        admin_of_group(ctx, caller, room).await?;
    }
    match ctx.rooms.remove_member(room, target).await? {
        ChangeMember::Done => {
            super::realtime::close_room_sockets_of(ctx, target, room).await;
            Ok(())
        }
        ChangeMember::NotMember => Err(Error::member_not_found()),
        ChangeMember::LastAdmin => Err(Error::Conflict(
            "The last admin cannot leave while the room has other members. Make another member admin first.".into(),
        )),
    }
}

/// An admin changes a member's role; the last admin cannot step down.
pub async fn set_role(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    target: &UserId,
    role: Role,
) -> Result<MemberView> {
    admin_of_group(ctx, caller, room).await?;
    match ctx.rooms.set_role(room, target, role).await? {
        ChangeMember::Done => {}
        ChangeMember::NotMember => return Err(Error::member_not_found()),
        ChangeMember::LastAdmin => {
            return Err(Error::Conflict(
                "A room needs at least one admin. Make another member admin first.".into(),
            ))
        }
    }
    let member = ctx
        .rooms
        .member(room, target)
        .await?
        .ok_or_else(Error::member_not_found)?;
    with_users(ctx, caller, vec![member])
        .await?
        .pop()
        .ok_or_else(Error::member_not_found)
}

/// A client's `after_seq` must be a seq the room has reached.
pub async fn check_after_seq(ctx: &Ctx, room: &Room, after: u64) -> Result<()> {
    if after <= room.last_seq {
        return Ok(());
    }
    // The room's `last_seq` may trail its newest message for a moment (a
    // store that writes the summary after the message), or until the next
    // message (a writer died between the two): a seq a client saw stands.
    let newest = ctx.messages.after(&room.id, after - 1, 1).await?;
    if newest.first().is_some_and(|m| m.seq == after) {
        return Ok(());
    }
    Err(Error::field(
        "after_seq",
        format!(
            "The room's newest message has seq {}; after_seq cannot be beyond it.",
            room.last_seq
        ),
    ))
}

/// The refusal of one member more than a group may have.
fn room_full(ctx: &Ctx) -> Error {
    Error::Conflict(format!(
        "The room is full ({} members).",
        ctx.settings.max_group_members
    ))
}

/// A room's unread state for one member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    /// Messages after their read mark.
    pub messages: u64,
    /// Whether they muted the room.
    pub muted: bool,
}

impl Unread {
    /// What counts as unread: the messages after the read mark, none in a
    /// muted room.
    pub fn count(self) -> u64 {
        if self.muted {
            0
        } else {
            self.messages
        }
    }
}

/// The room's unread state for `user`.
pub async fn unread_count(ctx: &Ctx, user: &UserId, room: &Room) -> Result<Unread> {
    let counts = unread_counts(ctx, user, std::slice::from_ref(room)).await?;
    Ok(counts.get(&room.id).copied().unwrap_or_default())
}

/// Each room's unread state for `user`: its `last_seq` minus the `seq` they
/// read up to, and whether they muted it. No row is counted: the read marks
/// and the mute flags come in one batch each.
pub async fn unread_counts(
    ctx: &Ctx,
    user: &UserId,
    rooms: &[Room],
) -> Result<std::collections::HashMap<RoomId, Unread>> {
    let ids: Vec<RoomId> = rooms.iter().map(|r| r.id.clone()).collect();
    let marks = ctx.receipts.read_marks(user, &ids).await?;
    let muted = ctx.rooms.muted_among(user, &ids).await?;
    Ok(rooms
        .iter()
        .map(|r| {
            let read = marks.get(&r.id).copied().unwrap_or(0);
            let unread = Unread {
                messages: r.last_seq.saturating_sub(read),
                muted: muted.contains(&r.id),
            };
            (r.id.clone(), unread)
        })
        .collect())
}

/// `caller` mutes the room (or unmutes it): a muted room counts no unread
/// messages for them; its messages still arrive.
pub async fn set_muted(ctx: &Ctx, caller: &UserId, room: &RoomId, muted: bool) -> Result<Unread> {
    let (found, _) = room_for_member(ctx, caller, room).await?;
    match ctx.rooms.set_muted(room, caller, muted).await? {
        ChangeMember::Done => unread_count(ctx, caller, &found).await,
        ChangeMember::NotMember | ChangeMember::LastAdmin => Err(Error::room_not_found()),
    }
}
