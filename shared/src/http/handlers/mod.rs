//! One function per route, grouped by area as the use-cases are: read the
//! request into its typed form, validate it into domain values, call one
//! use-case, render a typed response ([`super::views`]).

pub mod auth;
pub mod blocks;
pub mod members;
pub mod messages;
pub mod profile;
pub mod rooms;

use http::StatusCode;
use serde::Serialize;

use super::{ApiRequest, ApiResponse};
use crate::domain::{MessageId, RoomId, UserId};
use crate::usecases::auth as auth_usecase;
use crate::{Ctx, Error, Result};

/// A `200` with a JSON body.
fn ok(body: &impl Serialize) -> Result<ApiResponse> {
    Ok(ApiResponse::json(StatusCode::OK, body))
}

/// `201` for something this call created, `200` for what already existed.
fn created_or_ok(created: bool, body: &impl Serialize) -> Result<ApiResponse> {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ApiResponse::json(status, body))
}

/// The caller, from `Authorization: Bearer <access token>`.
fn caller(ctx: &Ctx, req: &ApiRequest) -> Result<UserId> {
    let header = req
        .header("authorization")
        .ok_or_else(Error::not_authenticated)?;
    let token =
        match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(Error::Unauthorized {
                detail:
                    "Authorization header must contain two space-delimited values: Bearer <token>."
                        .into(),
                code: "bad_authorization_header",
            }),
        };
    auth_usecase::authenticate(ctx, token)
}

/// The `{id}` room of the path; an id of impossible shape is simply not found.
fn room_param(req: &ApiRequest) -> Result<RoomId> {
    req.param("id")
        .and_then(RoomId::parse)
        .ok_or_else(Error::room_not_found)
}

/// The `{message_id}` of the path.
fn message_param(req: &ApiRequest) -> Result<MessageId> {
    req.param("message_id")
        .and_then(MessageId::parse)
        .ok_or_else(Error::message_not_found)
}

/// The `{user_id}` of the path.
fn user_param(req: &ApiRequest) -> Result<UserId> {
    req.param("user_id")
        .and_then(UserId::parse)
        .ok_or_else(Error::user_not_found)
}
