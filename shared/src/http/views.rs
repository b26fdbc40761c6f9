//! JSON shapes of the API's objects. Field names follow the seed app so that
//! its clients keep working.

use serde_json::{json, Value};

use crate::domain::{Message, MessagePreview, Room, User};
use crate::usecases::auth::TokenPair;
use crate::usecases::messages::{Page, Status};
use crate::usecases::rooms::MemberView;
use crate::usecases::{profile, realtime};
use crate::{Ctx, Result};

/// The signed-in user's own profile.
pub async fn own_profile(ctx: &Ctx, user: &User) -> Result<Value> {
    let online = !realtime::online_users(ctx, std::slice::from_ref(&user.id))
        .await?
        .is_empty();
    Ok(json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "bio": user.bio,
        "profile_picture": profile::picture_url(ctx, user).await?,
        "email_verified": user.email_verified,
        "date_joined": user.created_at,
        "is_online": online,
        "last_seen": user.last_seen,
    }))
}

/// Another user as members of a room see them.
pub async fn public_user(ctx: &Ctx, user: &User, online: bool) -> Result<Value> {
    Ok(json!({
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "profile_picture": profile::picture_url(ctx, user).await?,
        "is_online": online,
        "last_seen": user.last_seen,
    }))
}

/// A membership.
pub async fn member(ctx: &Ctx, view: &MemberView) -> Result<Value> {
    Ok(json!({
        "user": public_user(ctx, &view.user, view.online).await?,
        "role": view.member.role,
        "joined_at": view.member.joined_at,
    }))
}

/// A list of memberships.
pub async fn members(ctx: &Ctx, views: &[MemberView]) -> Result<Value> {
    let mut out = Vec::with_capacity(views.len());
    for view in views {
        out.push(member(ctx, view).await?);
    }
    Ok(Value::Array(out))
}

/// A message, with the seed's `message`, `sender` and `timestamp`.
pub fn message(m: &Message) -> Value {
    message_with_status(m, Status::Sent)
}

/// A message of history, with its delivery status.
pub fn message_with_status(m: &Message, status: Status) -> Value {
    json!({
        "id": m.id,
        "room": m.room_id,
        "sender": { "id": m.sender_id, "username": m.sender_username },
        "message": m.body,
        "timestamp": m.created_at,
        "client_id": m.client_id,
        "status": status.as_str(),
    })
}

fn preview(room: &Room, m: &MessagePreview) -> Value {
    json!({
        "id": m.id,
        "room": room.id,
        "sender": { "id": m.sender_id, "username": m.sender_username },
        "message": m.body,
        "timestamp": m.created_at,
    })
}

/// A room in lists: its last message, counts and activity time.
pub fn room(room: &Room) -> Value {
    json!({
        "id": room.id,
        "name": room.name,
        "type": room.kind,
        "created_by": room.created_by,
        "created_at": room.created_at,
        "member_count": room.member_count,
        "last_message": room.last_message.as_ref().map(|m| preview(room, m)),
        "last_activity": room.last_activity(),
    })
}

/// A room with its members and the caller's role.
pub async fn room_detail(
    ctx: &Ctx,
    r: &Room,
    members_: &[MemberView],
    my_role: &str,
) -> Result<Value> {
    let mut value = room(r);
    if let Value::Object(map) = &mut value {
        map.insert("members".into(), members(ctx, members_).await?);
        map.insert("my_role".into(), Value::from(my_role));
    }
    Ok(value)
}

/// A page of history.
pub fn page(p: &Page) -> Value {
    json!({
        "results": p
            .messages
            .iter()
            .map(|(m, status)| message_with_status(m, *status))
            .collect::<Vec<_>>(),
        "next": p.next,
    })
}

/// A token pair.
pub fn tokens(pair: &TokenPair) -> Value {
    json!({ "access": pair.access, "refresh": pair.refresh })
}
