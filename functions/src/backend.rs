//! Builds the context a function serves with, once per cold start.
//!
//! `CHAT_BACKEND` chooses the adapters: `aws` (the default) uses DynamoDB,
//! and S3, SES and API Gateway only where the route needs them; `embedded`
//! keeps all state in the process, for trying a function locally with
//! `CHAT_ROUTE=<function> cargo lambda watch`.

use std::sync::Arc;

use chat_aws::secrets;
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
    /// The signing secret could not be read from SSM.
    #[error("reading the signing secret from the SSM parameter {name}: {source}")]
    Secret {
        /// The parameter's name (`JWT_SECRET_PARAMETER`).
        name: String,
        /// Why it could not be read.
        source: chat_core::Error,
    },
    /// The TLS trust settings cannot be used.
    #[error(transparent)]
    Tls(#[from] chat_aws::tls::TlsError),
    /// `CHAT_BACKEND` names no known backend.
    #[error("CHAT_BACKEND={0:?} is not a known backend (expected \"aws\" or \"embedded\")")]
    UnknownBackend(String),
}

/// [`context_from_env`], logging why when it fails: the function's log is
/// where an operator looks when a cold start fails.
pub async fn init(needs: Needs) -> Result<Arc<Ctx>, BackendError> {
    context_from_env(needs)
        .await
        .map(Arc::new)
        .inspect_err(|e| {
            tracing::error!("cannot start: {e}");
        })
}

/// The configuration from the environment. On AWS the signing secret comes
/// from the SSM parameter named by `JWT_SECRET_PARAMETER` unless
/// `JWT_SECRET` itself is set.
async fn config_with_secret(sdk: &setup::SdkConfig) -> Result<Config, BackendError> {
    // The template declares JWT_SECRET empty, so that `sam local`'s
    // env-vars file can set it: empty counts as unset.
    let secret = std::env::var("JWT_SECRET").ok().filter(|s| !s.is_empty());
    let from_ssm = match (&secret, std::env::var("JWT_SECRET_PARAMETER")) {
        (None, Ok(name)) => Some(
            secrets::from_ssm(sdk, &name)
                .await
                .map_err(|source| BackendError::Secret { name, source })?,
        ),
        _ => None,
    };
    Ok(Config::from_lookup(|name| match name {
        "JWT_SECRET" => secret.clone().or_else(|| from_ssm.clone()),
        _ => std::env::var(name).ok(),
    })?)
}

/// The context of a function that only reads tokens (the `$connect`
/// authorizer): the configuration and signing secret, and no store or
/// other client; the in-process adapters stand in, unused.
pub async fn init_token_reader() -> Result<Arc<Ctx>, BackendError> {
    let config = match std::env::var("CHAT_BACKEND").as_deref() {
        Ok("embedded") => Config::from_env()?,
        _ => config_with_secret(&setup::load_sdk_config().await?).await?,
    };
    Ok(Arc::new(chat_core::adapters::embedded_context(&config, "")))
}

/// Reads the environment and builds the context with the clients `needs` names.
/// On AWS the signing secret comes from the SSM parameter named by
/// `JWT_SECRET_PARAMETER` unless `JWT_SECRET` itself is set.
pub async fn context_from_env(needs: Needs) -> Result<Ctx, BackendError> {
    let backend = std::env::var("CHAT_BACKEND").unwrap_or_else(|_| "aws".into());
    match backend.as_str() {
        "aws" => {
            let aws = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
            let sdk = setup::load_sdk_config().await?;
            let config = config_with_secret(&sdk).await?;
            let ctx = setup::context(&config, &aws, &sdk, needs, None)?;
            setup::open_connections(&sdk, &aws).await;
            Ok(ctx)
        }
        "embedded" => Ok(chat_core::adapters::embedded_context(
            &Config::from_env()?,
            &std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
        )),
        other => Err(BackendError::UnknownBackend(other.to_owned())),
    }
}
