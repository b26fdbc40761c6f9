//! The HTTP face of the use-cases, independent of how requests arrive.
//!
//! A Lambda (through `lambda_http`) and the local gateway (through axum) both
//! turn their request into an [`ApiRequest`], call [`handle`] with the
//! [`Route`] it matched, and turn the [`ApiResponse`] back. So every route
//! behaves the same on AWS and on a laptop.

mod body;
pub mod errors;
mod handlers;
pub mod openapi;
mod request;
mod routes;
mod views;

pub use body::{MAX_JSON_BYTES, MAX_MULTIPART_OVERHEAD};
pub use request::{ApiRequest, ApiResponse};
pub use routes::{handle, parse_method, Route, RouteSpec, ROUTES};
