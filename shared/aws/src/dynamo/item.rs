//! Reading and writing attribute values, and the stored shapes more than
//! one store module writes (a room's last message).

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use chat_core::domain::{MessagePreview, Timestamp};
use chat_core::{Error, Result};

use crate::table::{PK, SK};

/// An item as the SDK holds it.
pub type Item = HashMap<String, AttributeValue>;

/// A string value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number value.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A boolean value.
pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// The primary key of an item.
pub fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A TTL value: epoch seconds, rounded up.
pub fn ttl(at: Timestamp) -> AttributeValue {
    n(at.secs() + 1)
}

fn corrupt(name: &str) -> Error {
    Error::internal(format!("stored item lacks a valid {name:?} attribute"))
}

/// A required string attribute.
pub fn get_s(item: &Item, name: &str) -> Result<String> {
    opt_s(item, name).ok_or_else(|| corrupt(name))
}

/// An optional string attribute.
pub fn opt_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

/// A required number attribute.
pub fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T> {
    opt_n(item, name).ok_or_else(|| corrupt(name))
}

/// An optional number attribute.
pub fn opt_n<T: FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A boolean attribute (absent is false).
pub fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

/// A required timestamp (milliseconds).
pub fn get_ts(item: &Item, name: &str) -> Result<Timestamp> {
    get_n::<i64>(item, name).map(Timestamp::from_millis)
}

/// An optional timestamp (milliseconds).
pub fn opt_ts(item: &Item, name: &str) -> Option<Timestamp> {
    opt_n::<i64>(item, name).map(Timestamp::from_millis)
}

/// A timestamp value (milliseconds).
pub fn ts(at: Timestamp) -> AttributeValue {
    n(at.millis())
}

/// The codes of a cancelled transaction's actions, in order
/// (`"ConditionalCheckFailed"`, `"None"`, ...), or `None` for other errors.
pub fn cancellation_codes<R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<Vec<String>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether action `index` of a cancelled transaction failed its condition.
pub fn failed_at(codes: &[String], index: usize) -> bool {
    codes
        .get(index)
        .is_some_and(|c| c == "ConditionalCheckFailed")
}

/// The stored form of a room's last message.
pub fn preview_value(m: &MessagePreview) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("id".to_owned(), s(m.id.as_str())),
        ("sender_id".to_owned(), s(m.sender_id.as_str())),
        ("sender_username".to_owned(), s(m.sender_username.as_str())),
        ("body".to_owned(), s(m.body.as_str())),
        ("created_at".to_owned(), ts(m.created_at)),
        ("seq".to_owned(), n(m.seq)),
    ]))
}

/// Attempts of a transaction that keeps losing races (see [`transact`]).
const TRANSACTION_ATTEMPTS: u32 = 5;

/// Sends a transaction. When DynamoDB cancels it only because another
/// transaction was writing the same items at that moment
/// (`TransactionConflict`, no condition failed), sending it again is safe:
/// it is retried with jittered, growing pauses (at most
/// [`TRANSACTION_ATTEMPTS`] sends, about half a second in all), then
/// answered 503 so that the client retries. The cancellation codes are
/// returned when a condition failed.
pub async fn transact(
    request: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<std::result::Result<(), Vec<String>>> {
    for attempt in 0..TRANSACTION_ATTEMPTS {
        let codes = match request.clone().send().await {
            Ok(_) => return Ok(Ok(())),
            Err(e) => match cancellation_codes(&e) {
                Some(codes) => codes,
                None => return Err(crate::sdk_error::translate("TransactWriteItems", e)),
            },
        };
        if !lost_a_race(&codes) {
            return Ok(Err(codes));
        }
        if attempt + 1 < TRANSACTION_ATTEMPTS {
            let mut jitter = [0u8; 1];
            let _ = chat_core::security::random::fill(&mut jitter);
            let pause = (20u64 << attempt) + u64::from(jitter[0]) % 20;
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
    }
    Err(Error::unavailable(
        "concurrent writes to the same items kept conflicting; try again",
    ))
}

/// Whether a cancelled transaction lost a race with another one and nothing
/// else: some action conflicted, none failed its condition.
fn lost_a_race(codes: &[String]) -> bool {
    codes.iter().any(|c| c == "TransactionConflict")
        && !codes.iter().any(|c| c == "ConditionalCheckFailed")
}

#[cfg(test)]
mod transaction_tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::config::{Credentials, Region};
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use chat_core::Error;

    use super::{lost_a_race, transact, TRANSACTION_ATTEMPTS};

    /// Answers each request with the next scripted DynamoDB answer, and
    /// counts the requests.
    #[derive(Debug, Clone, Default)]
    struct Scripted {
        answers: Arc<Mutex<VecDeque<(u16, String)>>>,
        requests: Arc<AtomicUsize>,
    }

    impl HttpConnector for Scripted {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let (status, body) = self
                .answers
                .lock()
                .expect("lock")
                .pop_front()
                .expect("a scripted answer for every request");
            let mut response = Response::new(
                StatusCode::try_from(status).expect("status"),
                SdkBody::from(body),
            );
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    /// DynamoDB's answer to a transaction cancelled with these reasons.
    fn cancelled(codes: &[&str]) -> (u16, String) {
        let reasons: Vec<String> = codes
            .iter()
            .map(|c| format!(r#"{{"Code":"{c}"}}"#))
            .collect();
        (
            400,
            format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{}]}}"#,
                reasons.join(",")
            ),
        )
    }

    fn committed() -> (u16, String) {
        (200, "{}".to_owned())
    }

    /// Sends one two-action transaction through a client whose every
    /// request gets the next of `answers`; returns its outcome and how many
    /// requests were sent.
    async fn send(answers: Vec<(u16, String)>) -> (Result<Result<(), Vec<String>>, Error>, usize) {
        let scripted = Scripted {
            answers: Arc::new(Mutex::new(answers.into())),
            requests: Arc::default(),
        };
        let connector = SharedHttpConnector::new(scripted.clone());
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "test"))
            .endpoint_url("http://127.0.0.1:1")
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let outcome = transact(client.transact_write_items()).await;
        (outcome, scripted.requests.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_transaction_that_lost_a_race_is_sent_again() {
        let conflict = cancelled(&["None", "TransactionConflict"]);
        let (outcome, requests) = send(vec![conflict.clone(), conflict, committed()]).await;
        assert!(matches!(outcome, Ok(Ok(()))), "{outcome:?}");
        assert_eq!(requests, 3);
    }

    #[tokio::test]
    async fn conflicts_that_go_on_are_answered_unavailable_not_internal() {
        let conflict = cancelled(&["TransactionConflict", "None"]);
        let answers = vec![conflict; TRANSACTION_ATTEMPTS as usize];
        let (outcome, requests) = send(answers).await;
        assert!(
            matches!(outcome, Err(Error::Unavailable { .. })),
            "{outcome:?}"
        );
        assert_eq!(requests, TRANSACTION_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_failed_condition_is_returned_at_once_with_its_reasons() {
        let (outcome, requests) = send(vec![cancelled(&[
            "ConditionalCheckFailed",
            "TransactionConflict",
        ])])
        .await;
        let codes = outcome
            .expect("an answer, not an error")
            .expect_err("cancelled");
        assert_eq!(codes, ["ConditionalCheckFailed", "TransactionConflict"]);
        assert_eq!(requests, 1);
    }

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn only_a_conflict_without_a_failed_condition_is_retried() {
        assert!(lost_a_race(&codes(&["None", "TransactionConflict"])));
        assert!(!lost_a_race(&codes(&[
            "ConditionalCheckFailed",
            "TransactionConflict"
        ])));
        assert!(!lost_a_race(&codes(&["ConditionalCheckFailed", "None"])));
        assert!(!lost_a_race(&codes(&["None", "ThrottlingError"])));
    }
}
