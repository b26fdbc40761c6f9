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
