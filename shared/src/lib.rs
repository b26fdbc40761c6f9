//! # chat-core
//!
//! Everything of the chat backend that does not depend on where it runs: the
//! domain, the ports (traits) through which it reaches state and the outside
//! world, embedded adapters for those ports, the use-cases and the HTTP
//! handlers that every Lambda binary and the local gateway call.
//!
//! ## Layout
//!
//! - [`domain`]: values parsed at the boundary (e-mail, username, password,
//!   room name, message body, ids, timestamps) and the entities built from them.
//! - [`ports`]: one small async trait per capability (users, OTPs, refresh
//!   tokens, rooms, messages, rate limits, mail, blobs, clock, ids).
//! - [`adapters`]: embedded implementations of every port, used by the local
//!   gateway and by tests, and [`adapters::embedded_context`] that wires them.
//!   AWS implementations live in their own crate. [`Ctx`] itself names no
//!   concrete adapter: the binaries choose.
//! - [`security`]: password hashing, JWTs, one-time codes, randomness.
//! - [`usecases`]: the behaviour of the product, over a [`Ctx`] of ports.
//! - [`error`]: the one error type and its one classification for clients
//!   ([`Error::problem`]), which both faces render.
//! - [`fields`]: request fields read as Django REST Framework reads them.
//! - [`http`]: transport-neutral request/response types, the route table,
//!   one request type per route with its `validate()`, typed response views,
//!   the REST rendering of errors.
//! - [`ws`]: API Gateway WebSocket events (`$connect`, `$default`,
//!   `$disconnect`) to the real-time use-cases; [`ws::frames`] holds the
//!   typed client frames.
//! - [`events`]: the typed events the server pushes.
//! - [`config`]: settings read once from the environment.
#![warn(missing_docs)]

pub mod adapters;
pub mod config;
pub mod context;
pub mod domain;
pub mod error;
pub mod events;
pub mod fields;
pub mod http;
pub mod ports;
pub mod security;
pub mod usecases;
pub mod ws;

pub use context::Ctx;
pub use error::{Error, Result};
