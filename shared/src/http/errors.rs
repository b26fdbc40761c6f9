//! The REST rendering of errors.
//!
//! Bodies follow Django REST Framework: `{"detail": "...", "code": "..."}`
//! for request-level errors and `{"field": ["..."]}` for invalid fields.
//! What a client is told comes from [`Error::problem`]; causes of 5xx answers
//! are logged here and never sent.

use http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::StatusCode;
use serde::Serialize;

use super::ApiResponse;
use crate::Error;

/// The body of every request-level error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// Human-readable explanation.
    pub detail: &'a str,
    /// Machine-readable code.
    pub code: &'a str,
}

/// Renders an error as the response the client gets.
pub fn to_response(error: Error) -> ApiResponse {
    error.log_cause();
    let problem = error.problem();
    let mut response = match problem.fields {
        Some(fields) => ApiResponse::json(problem.status, fields),
        None => ApiResponse::json(
            problem.status,
            &ErrorBody {
                detail: &problem.detail,
                code: problem.code,
            },
        ),
    };
    if problem.status == StatusCode::UNAUTHORIZED {
        response = response.with_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"api\""),
        );
    }
    if let Some(secs) = problem.retry_after_secs {
        response = response.with_header(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The answer for a path no route serves.
pub fn not_found() -> ApiResponse {
    to_response(Error::no_route())
}

/// The answer for a known path with a method it does not serve.
pub fn method_not_allowed(method: &str) -> ApiResponse {
    ApiResponse::json(
        StatusCode::METHOD_NOT_ALLOWED,
        &ErrorBody {
            detail: &format!("Method \"{method}\" not allowed."),
            code: "method_not_allowed",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_are_not_echoed() {
        let response = to_response(Error::internal("table chat missing"));
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
