//! The one mapping of errors to HTTP responses.
//!
//! Bodies follow Django REST Framework: `{"detail": "...", "code": "..."}`
//! for request-level errors and `{"field": ["..."]}` for invalid fields.
//! Causes of 5xx answers are logged here and never sent to the client.

use http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::StatusCode;
use serde_json::json;

use super::ApiResponse;
use crate::Error;

/// Renders an error as the response the client gets.
pub fn to_response(error: Error) -> ApiResponse {
    let detail = |status, detail: &str, code: &str| {
        ApiResponse::json(status, &json!({ "detail": detail, "code": code }))
    };
    match error {
        Error::Validation(fields) => ApiResponse::json(StatusCode::BAD_REQUEST, &fields),
        Error::BadRequest(msg) => detail(StatusCode::BAD_REQUEST, &msg, "invalid"),
        Error::Unauthorized { detail: msg, code } => detail(StatusCode::UNAUTHORIZED, &msg, code)
            .with_header(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            ),
        Error::Forbidden { detail: msg, code } => detail(StatusCode::FORBIDDEN, &msg, code),
        Error::NotFound(msg) => detail(StatusCode::NOT_FOUND, &msg, "not_found"),
        Error::Conflict(msg) => detail(StatusCode::CONFLICT, &msg, "conflict"),
        Error::RateLimited { retry_after_secs } => detail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Request was throttled. Expected available in {retry_after_secs} seconds."),
            "throttled",
        )
        .with_header(RETRY_AFTER, HeaderValue::from(retry_after_secs)),
        Error::PayloadTooLarge(msg) => {
            detail(StatusCode::PAYLOAD_TOO_LARGE, &msg, "payload_too_large")
        }
        Error::UnsupportedMediaType(msg) => detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &msg,
            "unsupported_media_type",
        ),
        Error::Unavailable(cause) => {
            tracing::warn!(%cause, "dependency unavailable");
            detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy. Try again shortly.",
                "unavailable",
            )
            .with_header(RETRY_AFTER, HeaderValue::from_static("1"))
        }
        Error::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.",
                "error",
            )
        }
    }
}

/// The answer for a path no route serves.
pub fn not_found() -> ApiResponse {
    to_response(Error::NotFound("Not found.".into()))
}

/// The answer for a known path with a method it does not serve.
pub fn method_not_allowed(method: &str) -> ApiResponse {
    ApiResponse::json(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "detail": format!("Method \"{method}\" not allowed."), "code": "method_not_allowed" }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_are_not_echoed() {
        let response = to_response(Error::Internal("table chat missing".into()));
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(&response.body).contains("table"));
    }

    #[test]
    fn throttled_sets_retry_after() {
        let response = to_response(Error::RateLimited {
            retry_after_secs: 42,
        });
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("42")
        );
    }
}
