//! The signed-in user's profile.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{caller, ok, ApiRequest, ApiResponse};
use crate::domain::{ProfileText, ProfileUpdate, Username};
use crate::error::Validator;
use crate::fields::Field;
use crate::http::body::{json_body, multipart, Form};
use crate::http::views::{OwnProfile, Sender};
use crate::usecases::profile::{self, Picture};
use crate::{Ctx, Result};

/// Longest first or last name.
const MAX_NAME_CHARS: usize = 150;
/// Longest bio.
const MAX_BIO_CHARS: usize = 500;

pub async fn profile_get(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let user = profile::me(ctx, &me).await?;
    ok(&OwnProfile::new(ctx, &user).await?)
}

/// `PUT|PATCH /api/users/profile/`: JSON, or a multipart form that may
/// also carry `profile_picture`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProfileUpdateRequest {
    #[serde(default)]
    #[schema(value_type = Username)]
    username: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 150)]
    first_name: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 150)]
    last_name: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 500)]
    bio: Field<String>,
    /// Refused: the address is changed nowhere here.
    #[serde(default)]
    #[schema(ignore)]
    email: Field<Value>,
}

impl ProfileUpdateRequest {
    /// The text fields of a multipart form.
    fn from_form(form: &Form) -> Self {
        let text = |name: &str| {
            form.fields
                .get(name)
                .cloned()
                .map_or(Field::Missing, Field::Given)
        };
        Self {
            username: text("username"),
            first_name: text("first_name"),
            last_name: text("last_name"),
            bio: text("bio"),
            email: Field::Missing,
        }
    }

    /// The change, recording every invalid field in `v`.
    fn validate(self, v: &mut Validator) -> ProfileUpdate {
        if self.email.is_present() {
            v.add("email", "The e-mail address cannot be changed here.");
        }
        let mut text = |field: Field<String>, name: &str, max: usize| {
            field
                .optional(v, name)
                .and_then(|t| v.check(name, ProfileText::parse(&t, max)))
        };
        ProfileUpdate {
            first_name: text(self.first_name, "first_name", MAX_NAME_CHARS),
            last_name: text(self.last_name, "last_name", MAX_NAME_CHARS),
            bio: text(self.bio, "bio", MAX_BIO_CHARS),
            username: self
                .username
                .optional(v, "username")
                .and_then(|u| v.check("username", Username::parse(&u))),
            picture_key: None,
            password_hash: None,
            password_changed_at: None,
        }
    }
}

/// The picture of a multipart form, recognised by its content.
fn picture(form: &Form, v: &mut Validator) -> Option<Picture> {
    let bytes = form
        .files
        .get("profile_picture")
        .or_else(|| form.files.get("picture"))?;
    if bytes.is_empty() {
        v.add("profile_picture", "The submitted file is empty.");
        return None;
    }
    match profile::sniff_image(bytes) {
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
    }
}

pub async fn profile_update(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let mut v = Validator::new();
    let (change, picture) = if req.media_type().as_deref() == Some("multipart/form-data") {
        let form = multipart(req, ctx.settings.max_picture_bytes).await?;
        let change = ProfileUpdateRequest::from_form(&form).validate(&mut v);
        (change, picture(&form, &mut v))
    } else {
        let change = json_body::<ProfileUpdateRequest>(req)?.validate(&mut v);
        (change, None)
    };
    v.finish()?;
    let user = profile::update(ctx, &me, change, picture).await?;
    ok(&OwnProfile::new(ctx, &user).await?)
}

/// The query of `GET /api/users/lookup/`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The username to find (compared without case).
    #[serde(default)]
    #[param(value_type = Username, required = true)]
    username: Field<String>,
}

impl LookupQuery {
    /// The username.
    pub fn validate(self) -> Result<Username> {
        self.username
            .parse_required("username", |raw| Username::parse(&raw))
    }
}

pub async fn user_lookup(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let me = caller(ctx, req)?;
    let username = crate::http::body::query_params::<LookupQuery>(req)?.validate()?;
    let found = profile::lookup(ctx, &me, &username)
        .await?
        .ok_or_else(crate::Error::user_not_found)?;
    ok(&Sender {
        id: found.id,
        username: found.username,
    })
}
