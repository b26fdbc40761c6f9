//! The signed-in user's profile and picture.

use bytes::Bytes;

use crate::domain::{ProfileUpdate, User, UserId, Username};
use crate::ports::{Blob, UpdateProfile};
use crate::{Ctx, Error, Result};

/// An image whose type was recognised from its first bytes.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The file.
    pub bytes: Bytes,
    /// The media type the bytes were recognised as.
    pub content_type: &'static str,
}

/// The signed-in user. A valid token for a deleted account is refused.
pub async fn me(ctx: &Ctx, user: &UserId) -> Result<User> {
    ctx.users
        .user_by_id(user)
        .await?
        .ok_or_else(Error::account_gone)
}

/// Name lookups one user may make per minute.
pub const LOOKUPS_PER_MINUTE: u32 = 60;

/// The verified account named `username` (compared as usernames are), for
/// starting a chat by name; `None` for no such (or no verified) account.
/// Limited to [`LOOKUPS_PER_MINUTE`] per caller, so that names cannot be
/// listed by trying them all.
pub async fn lookup(ctx: &Ctx, caller: &UserId, username: &Username) -> Result<Option<User>> {
    let window = format!("lookup:{caller}");
    if let crate::ports::RateDecision::Limited { retry_after_secs } = ctx
        .limiter
        .hit(&window, 60, LOOKUPS_PER_MINUTE, ctx.clock.now())
        .await?
    {
        return Err(Error::RateLimited { retry_after_secs });
    }
    Ok(ctx
        .users
        .user_by_username(username)
        .await?
        .filter(|u| u.email_verified))
}

/// Applies a partial profile change and, when given, stores a new picture.
pub async fn update(
    ctx: &Ctx,
    user: &UserId,
    mut change: ProfileUpdate,
    picture: Option<Picture>,
) -> Result<User> {
    if let Some(picture) = picture {
        let key = format!("profile-pictures/{user}");
        ctx.blobs
            .put(
                &key,
                Blob {
                    bytes: picture.bytes,
                    content_type: picture.content_type.to_owned(),
                },
            )
            .await?;
        change.picture_key = Some(key);
    }
    if change.is_empty() {
        return me(ctx, user).await;
    }
    match ctx.users.update_profile(user, &change).await? {
        UpdateProfile::Updated(user) => {
            // Memberships keep the username for sending; a failure here is
            // reported, and the same request again finishes the job.
            if change.username.is_some() {
                ctx.rooms
                    .set_member_username(&user.id, &user.username)
                    .await?;
            }
            Ok(*user)
        }
        UpdateProfile::UsernameTaken => Err(Error::field(
            "username",
            "A user with that username already exists.",
        )),
        UpdateProfile::NotFound => Err(Error::account_gone()),
    }
}

/// A time-limited URL of the user's picture, if they have one.
pub async fn picture_url(ctx: &Ctx, user: &User) -> Result<Option<String>> {
    match &user.picture_key {
        Some(key) => Ok(Some(ctx.blobs.url(key, ctx.clock.now()).await?)),
        None => Ok(None),
    }
}

/// Recognises PNG, JPEG, GIF and WebP by their signatures; the client's
/// declared type and file name are not trusted.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_images_by_content() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg xmlns=...>"), None);
        assert_eq!(sniff_image(b"#!/bin/sh"), None);
        assert_eq!(sniff_image(b""), None);
    }
}
