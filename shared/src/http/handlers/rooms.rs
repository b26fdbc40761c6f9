//! Rooms: listing, creating, reading, direct chats.

use serde::Deserialize;
use utoipa::ToSchema;

use super::{caller, created_or_ok, ok, room_param, user_param, ApiRequest, ApiResponse};
use crate::domain::{RoomKind, RoomName, UserId};
use crate::error::Validator;
use crate::fields::Field;
use crate::http::body::json_body;
use crate::http::views::{Room, RoomDetail, UnreadCount};
use crate::usecases::rooms::{self, NewRoom};
use crate::{Ctx, Error, Result};

pub async fn rooms_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let rooms = rooms::list(ctx, &me).await?;
    let unread = rooms::unread_counts(ctx, &me, &rooms).await?;
    ok(&rooms
        .iter()
        .map(|r| Room::seen_by(r, unread.get(&r.id).copied().unwrap_or_default()))
        .collect::<Vec<_>>())
}

/// `POST /api/chat/rooms/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRoomRequest {
    /// `group` (the default) or `direct`.
    #[serde(default, rename = "type")]
    #[schema(value_type = RoomKind, default = "group")]
    kind: Field<String>,
    /// The group's name.
    #[serde(default)]
    #[schema(value_type = Option<RoomName>)]
    name: Field<String>,
    /// User ids: the other members of a group, or the other participant of a direct room.
    #[serde(default)]
    #[schema(value_type = Option<Vec<UserId>>)]
    members: Field<Vec<String>>,
}

impl CreateRoomRequest {
    /// What to create, for `creator`.
    pub fn validate(self, creator: &UserId) -> Result<NewRoom> {
        let mut v = Validator::new();
        let kind = self
            .kind
            .optional(&mut v, "type")
            .unwrap_or_else(|| "group".into());
        let name = self.name.optional(&mut v, "name");
        let members = self.members.nullable(&mut v, "members").unwrap_or_default();
        let mut member_ids = Vec::with_capacity(members.len());
        for raw in &members {
            match UserId::parse(raw) {
                Some(id) => member_ids.push(id),
                None => v.add("members", format!("Unknown user id: {raw}.")),
            }
        }
        let request = match kind.as_str() {
            "group" => {
                let name = match name {
                    Some(n) => v.check("name", RoomName::parse(&n)),
                    None => {
                        v.add("name", "A group room needs a name.");
                        None
                    }
                };
                name.map(|name| NewRoom::Group {
                    name,
                    members: member_ids,
                })
            }
            "direct" => {
                let mut others = member_ids.into_iter().filter(|m| m != creator);
                match (others.next(), others.next()) {
                    (Some(with), None) => Some(NewRoom::Direct { with }),
                    _ => {
                        v.add("members", "A direct room needs exactly one other member.");
                        None
                    }
                }
            }
            other => {
                v.add(
                    "type",
                    format!("\"{other}\" is not a valid choice (group, direct)."),
                );
                None
            }
        };
        match request {
            Some(request) => v.finish().map(|()| request),
            None => Err(v.into_error()),
        }
    }
}

pub async fn rooms_create(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let request = json_body::<CreateRoomRequest>(req)?.validate(&me)?;
    let created = match request {
        // A direct room with an unknown user is a field error here, not a missing page.
        NewRoom::Direct { with } => rooms::direct(ctx, &me, &with).await.map_err(|e| match e {
            Error::NotFound(_) => Error::field("members", format!("Unknown user id: {with}.")),
            Error::BadRequest(msg) => Error::field("members", msg),
            other => other,
        })?,
        group => rooms::create(ctx, &me, group).await?,
    };
    let unread = rooms::unread_count(ctx, &me, &created.room).await?;
    created_or_ok(created.created, &Room::seen_by(&created.room, unread))
}

pub async fn room_get(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room_id = room_param(req)?;
    let (room, member) = rooms::room_for_member(ctx, &me, &room_id).await?;
    let members = rooms::with_users(ctx, &me, ctx.rooms.members(&room_id).await?).await?;
    let unread = rooms::unread_count(ctx, &me, &room).await?;
    ok(&RoomDetail::new(ctx, &room, &members, member.role, unread).await?)
}

pub async fn direct_chat(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let other = user_param(req)?;
    let created = rooms::direct(ctx, &me, &other).await?;
    let unread = rooms::unread_count(ctx, &me, &created.room).await?;
    created_or_ok(created.created, &Room::seen_by(&created.room, unread))
}

/// `PUT /api/chat/rooms/{id}/mute/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct MuteRequest {
    /// Mute (`true`) or unmute (`false`) the room for yourself.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    muted: Field<bool>,
}

impl MuteRequest {
    /// Whether to mute.
    pub fn validate(self) -> Result<bool> {
        let mut v = Validator::new();
        match self.muted.required(&mut v, "muted") {
            Some(muted) => v.finish().map(|()| muted),
            None => Err(v.into_error()),
        }
    }
}

pub async fn room_mute(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let muted = json_body::<MuteRequest>(req)?.validate()?;
    let unread = rooms::set_muted(ctx, &me, &room, muted).await?;
    ok(&UnreadCount::of(room, unread))
}
