//! Builds the context a function serves with, once per cold start.
//!
//! `CHAT_BACKEND` chooses the adapters: `aws` (the default) uses DynamoDB,
//! and S3, SES and API Gateway only where the route needs them; `embedded`
//! keeps all state in the process, for trying a function locally with
//! `cargo lambda watch`.

use chat_aws::setup::{self, AwsSettings, MissingSetting, Needs};
use chat_core::config::{Config, ConfigError};
use chat_core::Ctx;

/// What can stop a function from starting.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A configuration variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A capability the route needs is not configured.
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    /// `CHAT_BACKEND` names no known backend.
    #[error("CHAT_BACKEND={0:?} is not a known backend (expected \"aws\" or \"embedded\")")]
    UnknownBackend(String),
}

/// Reads the environment and builds the context with the clients in `needs`.
pub async fn context_from_env(needs: Needs) -> Result<Ctx, BackendError> {
    let config = Config::from_env()?;
    let backend = std::env::var("CHAT_BACKEND").unwrap_or_else(|_| "aws".into());
    match backend.as_str() {
        "aws" => {
            let aws = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
            let sdk = setup::load_sdk_config().await;
            Ok(setup::context(&config, &aws, &sdk, needs, None)?)
        }
        "embedded" => Ok(Ctx::embedded(
            &config,
            &std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
        )),
        other => Err(BackendError::UnknownBackend(other.to_owned())),
    }
}
