//! Schemas of the domain's text and time types, with the limits their
//! `parse` functions enforce (the derive cannot state lengths for a newtype).

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::domain::text::{
    MAX_EMAIL_LEN, MAX_MESSAGE_CHARS, MAX_PASSWORD_LEN, MAX_ROOM_NAME_LEN, MAX_USERNAME_LEN,
    MIN_PASSWORD_LEN,
};
use crate::domain::{Email, Emoji, MessageBody, ProfileText, RoomName, Timestamp, Username};

/// A string schema to refine.
fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// Declares `ToSchema` for a type whose schema `$body` builds.
macro_rules! schema {
    ($($ty:ty => $body:expr;)+) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                Schema::Object($body).into()
            }
        }
        impl ToSchema for $ty {}
    )+};
}

schema! {
    Username => text("Letters, digits and @ . + - _ (Django's rule)")
        .min_length(Some(1))
        .max_length(Some(MAX_USERNAME_LEN))
        .pattern(Some(r"^[\w.@+-]+$"))
        .build();
    Email => text("An e-mail address (compared without case)")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(MAX_EMAIL_LEN))
        .build();
    RoomName => text("A group's name")
        .min_length(Some(1))
        .max_length(Some(MAX_ROOM_NAME_LEN))
        .build();
    MessageBody => text("The text of a message, not blank (length in characters)")
        .min_length(Some(1))
        .max_length(Some(MAX_MESSAGE_CHARS))
        .build();
    ProfileText => text("Free text of a profile; may be empty").build();
    Emoji => text("One emoji of the Unicode list (e.g. 👍); stored in its fully qualified form")
        .min_length(Some(1))
        .build();
    Timestamp => text("A UTC instant, RFC 3339 with milliseconds")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build();
    NewPassword => text("Not too common, nor too like the username or address")
        .min_length(Some(MIN_PASSWORD_LEN))
        .max_length(Some(MAX_PASSWORD_LEN))
        .build();
    FieldErrors => ObjectBuilder::new()
        .description(Some("Each invalid field with its messages"))
        .min_properties(Some(1))
        .additional_properties(Some(
            utoipa::openapi::schema::ArrayBuilder::new().items(String::schema()),
        ))
        .build();
}

/// A password chosen at registration (the request carries it as text).
pub struct NewPassword;

/// The body of a validation error: `{"field": ["message", …]}`.
pub struct FieldErrors;
