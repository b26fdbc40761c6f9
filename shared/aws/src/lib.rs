//! # chat-aws
//!
//! The AWS adapters of the chat backend's ports. Each implements the same
//! trait as its embedded twin in `chat-core` and passes the same contract tests.
//!
//! ## Layout
//!
//! - [`table`]: the single DynamoDB table (keys, index, TTL), defined once
//!   and shared with the SAM template.
//! - [`dynamo`]: every store port on that table.
//! - [`s3`]: profile pictures in S3, served through presigned URLs.
//! - [`ses`]: OTP mail through SES (v2).
//! - [`notifier`]: PostToConnection through the API Gateway management API.
//! - [`setup`]: settings from the environment and the context a function
//!   runs with, built once per cold start with only the clients it needs.
//! - [`metrics`]: an SDK interceptor that counts requests per operation.
//! - [`sdk_error`]: SDK errors translated to the domain error by predicate.
//! - [`secrets`]: the token signing secret from SSM Parameter Store.
//! - [`tls`]: whom the clients trust (the AWS roots, compiled in).

pub mod dynamo;
pub mod metrics;
pub mod notifier;
pub mod s3;
pub mod sdk_error;
pub mod secrets;
pub mod ses;
pub mod setup;
pub mod table;
pub mod tls;
