//! One function per route: parse the request, call one use-case, render.

use http::StatusCode;
use serde_json::json;

use super::body::{multipart, JsonObject};
use super::{views, ApiRequest, ApiResponse};
use crate::domain::{
    Email, MessageBody, Password, ProfileText, ProfileUpdate, Role, RoomId, RoomName, UserId,
    Username,
};
use crate::error::Validator;
use crate::usecases::auth;
use crate::usecases::messages::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::usecases::profile::{self, Picture};
use crate::usecases::rooms::{self, NewRoom};
use crate::{Ctx, Error, Result};

/// Longest first or last name.
const MAX_NAME_CHARS: usize = 150;
/// Longest bio.
const MAX_BIO_CHARS: usize = 500;

fn ok(value: &serde_json::Value) -> Result<ApiResponse> {
    Ok(ApiResponse::json(StatusCode::OK, value))
}

fn detail(status: StatusCode, text: &str) -> Result<ApiResponse> {
    Ok(ApiResponse::json(status, &json!({ "detail": text })))
}

/// The caller, from `Authorization: Bearer <access token>`.
fn caller(ctx: &Ctx, req: &ApiRequest) -> Result<UserId> {
    let header = req
        .header("authorization")
        .ok_or_else(|| Error::Unauthorized {
            detail: "Authentication credentials were not provided.".into(),
            code: "not_authenticated",
        })?;
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
    auth::authenticate(ctx, token)
}

/// The `{id}` room of the path; an id of impossible shape is simply not found.
fn room_param(req: &ApiRequest) -> Result<RoomId> {
    req.param("id")
        .and_then(RoomId::parse)
        .ok_or_else(|| Error::NotFound("Room not found.".into()))
}

/// The `{user_id}` of the path.
fn user_param(req: &ApiRequest) -> Result<UserId> {
    req.param("user_id")
        .and_then(UserId::parse)
        .ok_or_else(|| Error::NotFound("User not found.".into()))
}

pub async fn register(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let username = body.required_str(&mut v, "username");
    let email = body.required_str(&mut v, "email");
    let password = body.required_str(&mut v, "password");
    let password2 = body.optional_str(&mut v, "password2");
    let username = username.and_then(|u| v.check("username", Username::parse(&u)));
    let email = email.and_then(|e| v.check("email", Email::parse(&e)));
    let password = password.and_then(|p| {
        if password2.as_ref().is_some_and(|p2| *p2 != p) {
            v.add("password2", "Password fields didn't match.");
            return None;
        }
        v.check(
            "password",
            Password::parse_new(
                &p,
                username.as_ref().map(Username::as_str),
                email.as_ref().map(Email::as_str),
            ),
        )
    });
    v.finish()?;
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(Error::BadRequest("Invalid registration.".into()));
    };
    let address = email.as_str().to_owned();
    auth::register(
        ctx,
        auth::Registration {
            username,
            email,
            password,
        },
    )
    .await?;
    Ok(ApiResponse::json(
        StatusCode::CREATED,
        &json!({
            "detail": "Registration received. If the address can be used, a verification code has been sent to it.",
            "email": address,
        }),
    ))
}

pub async fn verify_email(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let email = body.required_str(&mut v, "email");
    let otp = body.required_str(&mut v, "otp");
    let email = email.and_then(|e| v.check("email", Email::parse(&e)));
    v.finish()?;
    let (Some(email), Some(otp)) = (email, otp) else {
        return Err(Error::BadRequest("Invalid request.".into()));
    };
    auth::verify_email(ctx, &email, otp.trim()).await?;
    detail(StatusCode::OK, "Email verified successfully.")
}

pub async fn resend_otp(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let email = body.required_str(&mut v, "email");
    let email = email.and_then(|e| v.check("email", Email::parse(&e)));
    v.finish()?;
    let Some(email) = email else {
        return Err(Error::BadRequest("Invalid request.".into()));
    };
    auth::resend_otp(ctx, &email).await?;
    detail(
        StatusCode::OK,
        "If the address is registered and not yet verified, a new code has been sent.",
    )
}

pub async fn token(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let email = body.required_str(&mut v, "email");
    let password = body.required_str(&mut v, "password");
    v.finish()?;
    let email = email.and_then(|e| Email::parse(&e).ok());
    let password = password.and_then(|p| Password::parse_login(&p));
    let pair = auth::login(ctx, email, password).await?;
    ok(&views::tokens(&pair))
}

fn refresh_field(req: &ApiRequest) -> Result<String> {
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let refresh = body.required_str(&mut v, "refresh");
    v.finish()?;
    refresh.ok_or_else(|| Error::field("refresh", "This field is required."))
}

pub async fn token_refresh(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let refresh = refresh_field(req)?;
    let pair = auth::refresh(ctx, &refresh).await?;
    ok(&views::tokens(&pair))
}

pub async fn logout(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let refresh = refresh_field(req)?;
    auth::logout(ctx, &refresh).await?;
    detail(StatusCode::OK, "Logged out.")
}

pub async fn profile_get(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let user = profile::me(ctx, &me).await?;
    ok(&views::own_profile(ctx, &user).await?)
}

/// Reads the profile fields from a JSON body or a multipart form.
fn profile_change(
    v: &mut Validator,
    text: impl Fn(&mut Validator, &str) -> Option<String>,
) -> ProfileUpdate {
    let mut change = ProfileUpdate {
        username: text(v, "username").and_then(|u| v.check("username", Username::parse(&u))),
        ..ProfileUpdate::default()
    };
    for (field, max, slot) in [
        ("first_name", MAX_NAME_CHARS, &mut change.first_name),
        ("last_name", MAX_NAME_CHARS, &mut change.last_name),
        ("bio", MAX_BIO_CHARS, &mut change.bio),
    ] {
        *slot = text(v, field).and_then(|t| v.check(field, ProfileText::parse(&t, max)));
    }
    change
}

pub async fn profile_update(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let mut v = Validator::new();
    let (change, picture) = if req.media_type().as_deref() == Some("multipart/form-data") {
        let max = ctx.settings.max_picture_bytes;
        let form = multipart(req, max).await?;
        let change = profile_change(&mut v, |_, name| form.fields.get(name).cloned());
        let file = form
            .files
            .get("profile_picture")
            .or_else(|| form.files.get("picture"));
        let picture = match file {
            None => None,
            Some(bytes) if bytes.is_empty() => {
                v.add("profile_picture", "The submitted file is empty.");
                None
            }
            Some(bytes) => match profile::sniff_image(bytes) {
                Some(content_type) => Some(Picture {
                    bytes: bytes.clone(),
                    content_type,
                }),
                None => {
                    v.add(
                        "profile_picture",
                        "Upload a valid image. The file you uploaded was either not an image or a corrupted image (PNG, JPEG, GIF or WebP).",
                    );
                    None
                }
            },
        };
        (change, picture)
    } else {
        let body = JsonObject::parse(req)?;
        if body.has("email") {
            v.add("email", "The e-mail address cannot be changed here.");
        }
        (
            profile_change(&mut v, |v, name| body.optional_str(v, name)),
            None,
        )
    };
    v.finish()?;
    let user = profile::update(ctx, &me, change, picture).await?;
    ok(&views::own_profile(ctx, &user).await?)
}

pub async fn rooms_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let rooms = rooms::list(ctx, &me).await?;
    ok(&json!(rooms.iter().map(views::room).collect::<Vec<_>>()))
}

pub async fn rooms_create(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let kind = body
        .optional_str(&mut v, "type")
        .unwrap_or_else(|| "group".into());
    let name = body.optional_str(&mut v, "name");
    let members = body
        .optional_str_list(&mut v, "members")
        .unwrap_or_default();
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
            let others: Vec<UserId> = member_ids.into_iter().filter(|m| *m != me).collect();
            if others.len() == 1 {
                others
                    .into_iter()
                    .next()
                    .map(|with| NewRoom::Direct { with })
            } else {
                v.add("members", "A direct room needs exactly one other member.");
                None
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
    v.finish()?;
    let request = request.ok_or_else(|| Error::BadRequest("Invalid room.".into()))?;
    let created = match request {
        // A direct room with an unknown user is a field error here, not a missing page.
        NewRoom::Direct { with } => rooms::direct(ctx, &me, &with).await.map_err(|e| match e {
            Error::NotFound(_) => Error::field("members", format!("Unknown user id: {with}.")),
            Error::BadRequest(msg) => Error::field("members", msg),
            other => other,
        })?,
        group => rooms::create(ctx, &me, group).await?,
    };
    let status = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ApiResponse::json(status, &views::room(&created.room)))
}

pub async fn room_get(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room_id = room_param(req)?;
    let (room, member) = rooms::room_for_member(ctx, &me, &room_id).await?;
    let members = rooms::with_users(ctx, ctx.rooms.members(&room_id).await?).await?;
    ok(&views::room_detail(ctx, &room, &members, member.role.as_str()).await?)
}

fn page_limit(req: &ApiRequest) -> Result<usize> {
    match req.query("limit") {
        None => Ok(DEFAULT_PAGE),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(Error::field(
                "limit",
                format!("Must be an integer from 1 to {MAX_PAGE}."),
            )),
        },
    }
}

pub async fn messages_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let limit = page_limit(req)?;
    let page = messages::history(ctx, &me, &room, req.query("before"), limit).await?;
    ok(&views::page(&page))
}

pub async fn messages_send(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    // The seed calls it `message`; `content` is accepted as an alias.
    let field = if body.has("message") || !body.has("content") {
        "message"
    } else {
        "content"
    };
    let text = body.required_str(&mut v, field);
    let text = text.and_then(|t| v.check(field, MessageBody::parse(&t)));
    let client_id = body
        .optional_str(&mut v, "client_id")
        .and_then(|c| v.check("client_id", messages::parse_client_id(&c)));
    v.finish()?;
    let text = text.ok_or_else(|| Error::field("message", "This field is required."))?;
    let sent = messages::send(ctx, &me, &room, text, client_id).await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ApiResponse::json(status, &views::message(&sent.message)))
}

pub async fn members_list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let members = rooms::members(ctx, &me, &room).await?;
    ok(&views::members(ctx, &members).await?)
}

fn role_field(body: &JsonObject, v: &mut Validator, required: bool) -> Option<Role> {
    let raw = if required {
        body.required_str(v, "role")
    } else {
        body.optional_str(v, "role")
    }?;
    let role = Role::parse(&raw);
    if role.is_none() {
        v.add(
            "role",
            format!("\"{raw}\" is not a valid choice (admin, member)."),
        );
    }
    role
}

pub async fn members_add(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let user = body.required_str(&mut v, "user_id");
    let user = user.and_then(|u| {
        v.check(
            "user_id",
            UserId::parse(&u).ok_or_else(|| "User not found.".to_owned()),
        )
    });
    let role = role_field(&body, &mut v, false).unwrap_or(Role::Member);
    v.finish()?;
    let user = user.ok_or_else(|| Error::field("user_id", "This field is required."))?;
    let added = rooms::add_member(ctx, &me, &room, &user, role).await?;
    Ok(ApiResponse::json(
        StatusCode::CREATED,
        &views::member(ctx, &added).await?,
    ))
}

pub async fn member_update(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let target = user_param(req)?;
    let body = JsonObject::parse(req)?;
    let mut v = Validator::new();
    let role = role_field(&body, &mut v, true);
    v.finish()?;
    let role = role.ok_or_else(|| Error::field("role", "This field is required."))?;
    let updated = rooms::set_role(ctx, &me, &room, &target, role).await?;
    ok(&views::member(ctx, &updated).await?)
}

pub async fn member_remove(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    let target = user_param(req)?;
    rooms::remove_member(ctx, &me, &room, &target).await?;
    Ok(ApiResponse {
        status: StatusCode::NO_CONTENT,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    })
}

pub async fn room_leave(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let room = room_param(req)?;
    rooms::remove_member(ctx, &me, &room, &me).await?;
    detail(StatusCode::OK, "You left the room.")
}

pub async fn direct_chat(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let other = user_param(req)?;
    let created = rooms::direct(ctx, &me, &other).await?;
    let status = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ApiResponse::json(status, &views::room(&created.room)))
}
