//! The behaviour of the product. Each function is one use-case over a
//! [`Ctx`](crate::Ctx); inputs are already-parsed domain values, outputs are
//! domain values that the HTTP layer renders.

pub mod attachments;
pub mod auth;
pub mod blocks;
pub mod messages;
pub mod presence;
pub mod profile;
pub mod realtime;
pub mod rooms;
