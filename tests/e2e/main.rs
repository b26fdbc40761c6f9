//! End-to-end tests: a real HTTP client against the local gateway on a free port.

mod support;

mod attachments;
mod auth;
mod authorization;
mod bad_input;
mod blocking;
mod catch_up;
mod direct;
mod edits;
mod journey;
mod membership;
mod profile;
mod reactions;
mod realtime;
mod sending_limits;
mod sessions;
mod socket_limits;
mod unread;
