//! The members of a group room and their roles; leaving a room.

use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{caller, ok, room_param, user_param, ApiRequest, ApiResponse};
use crate::domain::{Role, UserId};
use crate::error::Validator;
use crate::fields::Field;
use crate::http::body::json_body;
use crate::http::views::{Detail, Member};
use crate::usecases::rooms;
use crate::{Ctx, Result};

pub async fn members_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let members = rooms::members(ctx, &me, &room).await?;
    ok(&Member::list(ctx, &members).await?)
}

/// A `role` value.
fn role(raw: String, v: &mut Validator) -> Option<Role> {
    let role = Role::parse(&raw);
    if role.is_none() {
        v.add(
            "role",
            format!("\"{raw}\" is not a valid choice (admin, member)."),
        );
    }
    role
}

/// `POST /api/chat/rooms/{id}/members/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    #[serde(default)]
    #[schema(value_type = UserId, required = true)]
    user_id: Field<String>,
    /// `member` (the default) or `admin`.
    #[serde(default)]
    #[schema(value_type = Role)]
    role: Field<String>,
}

impl AddMemberRequest {
    /// The user to add and their role.
    pub fn validate(self) -> Result<(UserId, Role)> {
        let mut v = Validator::new();
        let user = self.user_id.required(&mut v, "user_id").and_then(|u| {
            v.check(
                "user_id",
                UserId::parse(&u).ok_or_else(|| "User not found.".to_owned()),
            )
        });
        let role = self
            .role
            .optional(&mut v, "role")
            .map_or(Some(Role::Member), |r| role(r, &mut v));
        match (user, role) {
            (Some(user), Some(role)) => v.finish().map(|()| (user, role)),
            _ => Err(v.into_error()),
        }
    }
}

pub async fn members_add(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let (user, role) = json_body::<AddMemberRequest>(req)?.validate()?;
    let added = rooms::add_member(ctx, &me, &room, &user, role).await?;
    Ok(ApiResponse::json(
        StatusCode::CREATED,
        &Member::new(ctx, &added).await?,
    ))
}

/// `PATCH /api/chat/rooms/{id}/members/{user_id}/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMemberRequest {
    #[serde(default)]
    #[schema(value_type = Role, required = true)]
    role: Field<String>,
}

impl UpdateMemberRequest {
    /// The new role.
    pub fn validate(self) -> Result<Role> {
        let mut v = Validator::new();
        self.role
            .required(&mut v, "role")
            .and_then(|r| role(r, &mut v))
            .ok_or_else(|| v.into_error())
    }
}

pub async fn member_update(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let target = user_param(req)?;
    let role = json_body::<UpdateMemberRequest>(req)?.validate()?;
    let updated = rooms::set_role(ctx, &me, &room, &target, role).await?;
    ok(&Member::new(ctx, &updated).await?)
}

pub async fn member_remove(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let target = user_param(req)?;
    rooms::remove_member(ctx, &me, &room, &target).await?;
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}

pub async fn room_leave(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    rooms::remove_member(ctx, &me, &room, &me).await?;
    ok(&Detail::new("You left the room."))
}
