//! Contract tests: the same cases on every adapter of a port, the embedded
//! one, the AWS one (on the moto emulator) and the Redis one (on a real
//! `redis-server`), so that they cannot drift.

mod support;

mod blobs;
mod connections;
mod mail;
mod messages;
mod notifier;
mod otps;
mod rate;
mod receipts;
mod request_counts;
mod rooms;
mod tokens;
mod users;
