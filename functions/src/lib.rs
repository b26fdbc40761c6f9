//! # chat-functions
//!
//! The Lambda side: one function per REST route and per WebSocket route,
//! all running the one binary `chat-lambda` (`functions/src/bin/`), which
//! serves the route its `CHAT_ROUTE` names ([`route`]). One binary means one
//! compile and one link for a deploy build of every function; each function
//! still builds only the clients its route needs, once per cold start, and
//! this library adapts Lambda events to the shared handlers.
//!
//! ## Layout
//!
//! - [`route`]: which function this is (`CHAT_ROUTE`), and serving it.
//! - [`backend`]: builds the [`chat_core::Ctx`] from the environment, once.
//! - [`http`]: API Gateway HTTP API events to and from the shared handlers.
//! - [`websocket`]: API Gateway WebSocket events to and from the shared handler.

pub mod backend;
pub mod http;
pub mod route;
pub mod websocket;
