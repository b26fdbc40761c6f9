//! The users the caller blocks.

use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{caller, created_or_ok, ok, user_param, ApiRequest, ApiResponse};
use crate::domain::UserId;
use crate::fields::Field;
use crate::http::body::json_body;
use crate::http::views::BlockedUser;
use crate::usecases::blocks;
use crate::{Ctx, Result};

pub async fn blocks_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let blocked = blocks::list(ctx, &me).await?;
    ok(&blocked.iter().map(BlockedUser::from).collect::<Vec<_>>())
}

/// `POST /api/users/blocks/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct BlockRequest {
    /// The user to block.
    #[serde(default)]
    #[schema(value_type = UserId, required = true)]
    user_id: Field<String>,
}

impl BlockRequest {
    /// The user to block.
    pub fn validate(self) -> Result<UserId> {
        self.user_id.parse_required("user_id", |u| {
            UserId::parse(&u).ok_or_else(|| "User not found.".to_owned())
        })
    }
}

pub async fn block_add(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let target = json_body::<BlockRequest>(req)?.validate()?;
    let (blocked, created) = blocks::block(ctx, &me, &target).await?;
    created_or_ok(created, &BlockedUser::from(&blocked))
}

pub async fn block_remove(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let target = user_param(req)?;
    blocks::unblock(ctx, &me, &target).await?;
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}
