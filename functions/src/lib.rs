//! # chat-functions
//!
//! The Lambda side: one binary per REST route (`functions/src/bin/<name>.rs`, found by Cargo)
//! and per WebSocket route. Each only names its route; this library
//! builds the context once per cold start and adapts Lambda events to the
//! shared handlers.
//!
//! ## Layout
//!
//! - [`backend`]: builds the [`chat_core::Ctx`] from the environment, once.
//! - [`http`]: API Gateway HTTP API events to and from the shared handlers.
//! - [`websocket`]: API Gateway WebSocket events to and from the shared handler.

pub mod backend;
pub mod http;
pub mod websocket;
