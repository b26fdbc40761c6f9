//! Request fields read the way Django REST Framework reads them.
//!
//! A request type derives `Deserialize` with every field a [`Field`]; a
//! `Field` never fails to deserialize but remembers whether the value was
//! missing, null, of the wrong type or usable, so that the request's
//! `validate()` can report every bad field at once with DRF's messages and
//! return parsed domain values.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::Validator;

/// DRF's message for a missing field.
pub const REQUIRED: &str = "This field is required.";
/// DRF's message for a null field.
pub const NOT_NULL: &str = "This field may not be null.";

/// One field of a request body, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not in the body.
    #[default]
    Missing,
    /// Present as `null`.
    Null,
    /// Present with a value of the wrong type; the message says why.
    Invalid(&'static str),
    /// Present and of the right type.
    Given(T),
}

/// A type a [`Field`] can hold: read leniently from any JSON value.
pub trait Lenient: Sized {
    /// The value, or the message for a value of the wrong type.
    fn from_json(value: Value) -> Result<Self, &'static str>;
}

/// Text; numbers are accepted and turned into text, as DRF does (ids are
/// often numbers in clients).
impl Lenient for String {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        match value {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("Not a valid string."),
        }
    }
}

/// A list of texts (numbers turned into text); a single text is a list of
/// one, as a URL-encoded form sends it.
impl Lenient for Vec<String> {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err("Expected a list of ids."),
                })
                .collect(),
            Value::String(s) => Ok(vec![s]),
            _ => Err("Expected a list of items but got another type."),
        }
    }
}

/// A yes/no: `true`/`false`, or as DRF also accepts them (and forms send
/// them) `"true"`/`"false"`, `1`/`0`.
impl Lenient for bool {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        const INVALID: &str = "Must be a valid boolean.";
        match value {
            Value::Bool(b) => Ok(b),
            Value::Number(n) => match n.as_u64() {
                Some(1) => Ok(true),
                Some(0) => Ok(false),
                _ => Err(INVALID),
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(INVALID),
            },
            _ => Err(INVALID),
        }
    }
}

/// Any JSON value, kept as sent.
impl Lenient for Value {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        Ok(value)
    }
}

impl<'de, T: Lenient> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Null,
            value => match T::from_json(value) {
                Ok(v) => Field::Given(v),
                Err(message) => Field::Invalid(message),
            },
        })
    }
}

impl<T> Field<T> {
    /// Whether the field was sent at all (even as null).
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Missing)
    }

    /// A field that must be sent with a value.
    pub fn required(self, v: &mut Validator, name: &str) -> Option<T> {
        match self {
            Field::Missing => {
                v.add(name, REQUIRED);
                None
            }
            other => other.optional(v, name),
        }
    }

    /// The request's only field, required and read by `parse`: its value,
    /// or the validation error naming `name`.
    pub fn parse_required<U>(
        self,
        name: &str,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> crate::Result<U> {
        let mut v = Validator::new();
        let value = self
            .required(&mut v, name)
            .and_then(|raw| v.check(name, parse(raw)));
        match value {
            Some(value) => v.finish().map(|()| value),
            None => Err(v.into_error()),
        }
    }

    /// A field that may be left out, but not sent as null.
    pub fn optional(self, v: &mut Validator, name: &str) -> Option<T> {
        match self {
            Field::Missing => None,
            Field::Null => {
                v.add(name, NOT_NULL);
                None
            }
            Field::Invalid(message) => {
                v.add(name, message);
                None
            }
            Field::Given(value) => Some(value),
        }
    }

    /// A field that may be left out or sent as null.
    pub fn nullable(self, v: &mut Validator, name: &str) -> Option<T> {
        match self {
            Field::Null => None,
            other => other.optional(v, name),
        }
    }

    /// The value, if one of the right type was sent.
    pub fn given(self) -> Option<T> {
        match self {
            Field::Given(value) => Some(value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(default)]
        a: Field<String>,
        #[serde(default)]
        b: Field<String>,
        #[serde(default)]
        c: Field<String>,
        #[serde(default)]
        d: Field<String>,
        #[serde(default)]
        missing: Field<String>,
        #[serde(default)]
        list: Field<Vec<String>>,
    }

    #[test]
    fn fields_report_missing_null_and_wrong_type() -> Result<(), serde_json::Error> {
        let sample: Sample = serde_json::from_str(
            r#"{"a": null, "b": {}, "c": "x", "d": 5, "list": [1, "2"], "extra": true}"#,
        )?;
        let mut v = Validator::new();
        assert_eq!(sample.a.required(&mut v, "a"), None);
        assert_eq!(sample.b.required(&mut v, "b"), None);
        assert_eq!(sample.missing.required(&mut v, "missing"), None);
        assert_eq!(sample.c.required(&mut v, "c").as_deref(), Some("x"));
        assert_eq!(sample.d.required(&mut v, "d").as_deref(), Some("5"));
        assert_eq!(
            sample.list.nullable(&mut v, "list"),
            Some(vec!["1".to_owned(), "2".to_owned()])
        );
        let Err(Error::Validation(errors)) = v.finish() else {
            panic!("expected validation errors");
        };
        assert_eq!(errors["a"], vec![NOT_NULL]);
        assert_eq!(errors["b"], vec!["Not a valid string."]);
        assert_eq!(errors["missing"], vec![REQUIRED]);
        assert_eq!(errors.len(), 3);
        Ok(())
    }
}
