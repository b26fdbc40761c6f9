//! The one error type of the domain and its use-cases, and its one
//! classification for clients.
//!
//! [`Error::problem`] says once what a client is told about an error (status,
//! code, detail); the REST face ([`crate::http::errors`]) and the WebSocket
//! face ([`crate::events`]) only render that [`Problem`]. Infrastructure
//! failures ([`Error::Unavailable`], [`Error::Internal`]) keep their cause
//! chain for the log ([`Error::log_cause`]) and never show it to a client.

use std::collections::BTreeMap;

use http::StatusCode;

/// Validation messages keyed by the request field they concern, in the shape
/// Django REST Framework clients expect: `{"field": ["message", ...]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The cause of an infrastructure failure, kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a use-case. [`Error::problem`] says what
/// each means to a client.
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
    /// The user holds as many WebSocket connections as they may.
    #[error("too many connections (limit {limit})")]
    TooManyConnections {
        /// The most one user may hold.
        limit: usize,
    },
    /// The request body is larger than this route accepts.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The request body's media type is not one this route accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A dependency is overloaded or unreachable; the client may retry.
    #[error("unavailable: {context}")]
    Unavailable {
        /// What was being done.
        context: String,
        /// Why it failed, when another error said so.
        #[source]
        source: Option<Cause>,
    },
    /// A bug or an unexpected state; the cause is logged, not returned.
    #[error("internal error: {context}")]
    Internal {
        /// What was being done.
        context: String,
        /// Why it failed, when another error said so.
        #[source]
        source: Option<Cause>,
    },
}

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a client is told about an [`Error`], whatever the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem<'a> {
    /// The HTTP status (also reported in WebSocket error events).
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation, safe to show.
    pub detail: std::borrow::Cow<'a, str>,
    /// The invalid fields, for validation errors.
    pub fields: Option<&'a FieldErrors>,
    /// Seconds after which a retry may succeed.
    pub retry_after_secs: Option<u64>,
}

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

    /// No credentials came with a request that needs them.
    pub fn not_authenticated() -> Self {
        Error::Unauthorized {
            detail: "Authentication credentials were not provided.".into(),
            code: "not_authenticated",
        }
    }

    /// A valid token of an account that no longer exists.
    pub fn account_gone() -> Self {
        Error::Unauthorized {
            detail: "User not found".into(),
            code: "user_not_found",
        }
    }

    /// Wrong e-mail or password (or an account that may not log in), one
    /// answer for all so that accounts cannot be discovered.
    pub fn bad_credentials() -> Self {
        Error::Unauthorized {
            detail: "No active account found with the given credentials".into(),
            code: "no_active_account",
        }
    }

    /// A room that does not exist or that the caller is not a member of.
    pub fn room_not_found() -> Self {
        Error::NotFound("Room not found.".into())
    }

    /// A message that is not in the room (or was deleted).
    pub fn message_not_found() -> Self {
        Error::NotFound("Message not found.".into())
    }

    /// A user id that names no account.
    pub fn user_not_found() -> Self {
        Error::NotFound("User not found.".into())
    }

    /// A user who is not a member of the room.
    pub fn member_not_found() -> Self {
        Error::NotFound("Member not found.".into())
    }

    /// A path no route serves.
    pub fn no_route() -> Self {
        Error::NotFound("Not found.".into())
    }

    /// An unexpected state, described by `context`.
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An unexpected failure of another component while doing `context`.
    pub fn internal_from(context: impl Into<String>, source: impl Into<Cause>) -> Self {
        Error::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A passing condition (overload, a write not yet visible) while doing `context`.
    pub fn unavailable(context: impl Into<String>) -> Self {
        Error::Unavailable {
            context: context.into(),
            source: None,
        }
    }

    /// A dependency failed in a way worth retrying while doing `context`.
    pub fn unavailable_from(context: impl Into<String>, source: impl Into<Cause>) -> Self {
        Error::Unavailable {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// The whole cause chain, `context: cause: cause...`, for the log.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            text.push_str(": ");
            text.push_str(&e.to_string());
            cause = e.source();
        }
        text
    }

    /// Logs an infrastructure failure with its whole cause chain; client
    /// errors are the client's business and are not logged.
    pub fn log_cause(&self) {
        match self {
            Error::Unavailable { .. } => {
                tracing::warn!(cause = %self.chain(), "dependency unavailable")
            }
            Error::Internal { .. } => tracing::error!(cause = %self.chain(), "internal error"),
            _ => {}
        }
    }

    /// What a client is told: the one classification both faces render.
    pub fn problem(&self) -> Problem<'_> {
        let problem = |status, code, detail: &str| Problem {
            status,
            code,
            detail: std::borrow::Cow::Owned(detail.to_owned()),
            fields: None,
            retry_after_secs: None,
        };
        match self {
            Error::Validation(fields) => Problem {
                fields: Some(fields),
                ..problem(StatusCode::BAD_REQUEST, "invalid", "Invalid input.")
            },
            Error::BadRequest(detail) => problem(StatusCode::BAD_REQUEST, "invalid", detail),
            Error::Unauthorized { detail, code } => problem(StatusCode::UNAUTHORIZED, code, detail),
            Error::Forbidden { detail, code } => problem(StatusCode::FORBIDDEN, code, detail),
            Error::NotFound(detail) => problem(StatusCode::NOT_FOUND, "not_found", detail),
            Error::Conflict(detail) => problem(StatusCode::CONFLICT, "conflict", detail),
            Error::RateLimited { retry_after_secs } => Problem {
                retry_after_secs: Some(*retry_after_secs),
                ..problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    &format!(
                        "Request was throttled. Expected available in {retry_after_secs} seconds."
                    ),
                )
            },
            Error::TooManyConnections { limit } => problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                &format!(
                    "You already have {limit} open connections, the most allowed. Close one first."
                ),
            ),
            Error::PayloadTooLarge(detail) => {
                problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
            }
            Error::UnsupportedMediaType(detail) => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                detail,
            ),
            Error::Unavailable { .. } => Problem {
                retry_after_secs: Some(1),
                ..problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is busy. Try again shortly.",
                )
            },
            Error::Internal { .. } => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "A server error occurred.",
            ),
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

    /// The recorded errors as one [`Error::Validation`]: for a request that
    /// lacks a value, which only happens once its error was recorded.
    pub fn into_error(self) -> Error {
        Error::Validation(self.errors)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infrastructure_causes_are_chained_for_the_log_and_hidden_from_clients() {
        let io = std::io::Error::other("connection reset by peer");
        let error = Error::unavailable_from("GetItem", io);
        assert_eq!(
            error.chain(),
            "unavailable: GetItem: connection reset by peer"
        );
        let problem = error.problem();
        assert_eq!(problem.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!problem.detail.contains("reset"));
        assert!(!problem.detail.contains("GetItem"));
    }
}
