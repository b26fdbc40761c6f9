//! The one error type of the domain and its use-cases.

use std::collections::BTreeMap;

/// Validation messages keyed by the request field they concern, in the shape
/// Django REST Framework clients expect: `{"field": ["message", ...]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Everything that can go wrong in a use-case. Each variant maps to one HTTP
/// status in [`crate::http::errors`]; infrastructure causes are logged there,
/// never sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well-formed but some fields are invalid.
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// The request cannot be understood (malformed JSON, wrong content type...).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No valid credentials were presented.
    #[error("unauthorized: {detail}")]
    Unauthorized {
        /// Human-readable reason.
        detail: String,
        /// Machine-readable code (`not_authenticated`, `token_not_valid`...).
        code: &'static str,
    },
    /// The caller is known but may not do this.
    #[error("forbidden: {detail}")]
    Forbidden {
        /// Human-readable reason.
        detail: String,
        /// Machine-readable code.
        code: &'static str,
    },
    /// The object does not exist, or the caller may not know that it does.
    #[error("not found: {0}")]
    NotFound(String),
    /// The change conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("rate limited, retry after {retry_after_secs}s")]
    RateLimited {
        /// Seconds until the limit resets.
        retry_after_secs: u64,
    },
    /// The request body is larger than this route accepts.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The request body's media type is not one this route accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A dependency is overloaded or unreachable; the client may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; the cause is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error on a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Error::Validation(errors)
    }

    /// A `403` with the generic permission code.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::Forbidden {
            detail: detail.into(),
            code: "permission_denied",
        }
    }
}

/// Collects field errors so that a client learns about every bad field at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: FieldErrors,
}

impl Validator {
    /// Starts with no errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` against `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Keeps the value of `result`, recording its message against `field` on failure.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// `Ok` when no error was recorded, otherwise [`Error::Validation`].
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}
