//! Builds the context a function serves with, once per cold start.
//!
//! `CHAT_BACKEND` chooses the adapters: `embedded` keeps all state in the
//! process (for trying a function locally with `cargo lambda watch`).

use chat_core::config::Config;
use chat_core::Ctx;

/// What can stop a function from starting.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A configuration variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] chat_core::config::ConfigError),
    /// `CHAT_BACKEND` names no known backend.
    #[error("CHAT_BACKEND={0:?} is not a known backend (expected \"embedded\")")]
    UnknownBackend(String),
}

/// Reads the environment and builds the context.
pub async fn context_from_env() -> Result<Ctx, BackendError> {
    let config = Config::from_env()?;
    let backend = std::env::var("CHAT_BACKEND").unwrap_or_else(|_| "embedded".into());
    match backend.as_str() {
        "embedded" => Ok(Ctx::embedded(
            &config,
            &std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
        )),
        other => Err(BackendError::UnknownBackend(other.to_owned())),
    }
}
