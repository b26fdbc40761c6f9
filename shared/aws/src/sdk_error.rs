//! SDK errors to [`chat_core::Error`], by predicate on the error code.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chat_core::Error;

/// Codes that mean "try again later".
const RETRYABLE: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "SlowDown",
];

/// The service's error code, if the error came from the service.
pub fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// Whether a conditional write was refused because its condition failed.
pub fn is_conditional_check_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    code(error) == Some("ConditionalCheckFailedException")
}

/// Translates an SDK error: throttling, time-outs and network failures are
/// [`Error::Unavailable`] (the client may retry), the rest [`Error::Internal`].
/// The full cause goes into the error for the log; it never reaches a client.
pub fn translate<E, R>(operation: &str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| RETRYABLE.contains(&code)),
        _ => false,
    };
    let cause = std::io::Error::other(
        aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
    );
    if retryable {
        Error::unavailable_from(operation, cause)
    } else {
        Error::internal_from(operation, cause)
    }
}

/// A request the code built wrongly (a required field left unset): a bug.
pub fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::internal_from("building a DynamoDB request", error)
}
