//! Reading request bodies: JSON objects and `multipart/form-data`, with size
//! and type limits and DRF-style messages for every field problem.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use serde::de::DeserializeOwned;

use super::ApiRequest;
use crate::{Error, Result};

/// Largest JSON body any route accepts.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Room for the text fields and boundaries of a multipart body beyond its file.
pub const MAX_MULTIPART_OVERHEAD: usize = 64 * 1024;

/// A JSON object body.
#[derive(Debug, Default)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// Parses the body as a JSON object. An empty body is an empty object, so
    /// that the client learns which fields are required. Like Django REST
    /// Framework, a URL-encoded form is accepted too (a repeated key is a list).
    pub fn parse(req: &ApiRequest) -> Result<Self> {
        if let Some(media) = req.media_type() {
            if media == "application/x-www-form-urlencoded" {
                return Self::from_form(&req.body);
            }
            if media != "application/json" && !media.ends_with("+json") {
                return Err(Error::UnsupportedMediaType(format!(
                    "Unsupported media type \"{media}\" in request. Send application/json."
                )));
            }
        }
        Self::from_bytes(&req.body)
    }

    /// Parses bytes as a JSON object, within [`MAX_JSON_BYTES`].
    pub fn from_bytes(body: &[u8]) -> Result<Self> {
        if body.len() > MAX_JSON_BYTES {
            return Err(Error::PayloadTooLarge(format!(
                "Request body is larger than {MAX_JSON_BYTES} bytes."
            )));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(Error::BadRequest(
                "Invalid data. Expected a JSON object.".into(),
            )),
            Err(e) => Err(Error::BadRequest(format!("JSON parse error - {e}"))),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self> {
        if body.len() > MAX_JSON_BYTES {
            return Err(Error::PayloadTooLarge(format!(
                "Request body is larger than {MAX_JSON_BYTES} bytes."
            )));
        }
        let mut map = Map::new();
        for (key, value) in form_urlencoded::parse(body) {
            let value = Value::String(value.into_owned());
            match map.get_mut(key.as_ref()) {
                None => {
                    map.insert(key.into_owned(), value);
                }
                Some(Value::Array(items)) => items.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
            }
        }
        Ok(Self(map))
    }
}

/// Reads the body into the request type `T`, whose fields are
/// [`Field`](crate::fields::Field)s: only a body that is no JSON object (or
/// form) at all is refused here; the fields are judged by `T`'s `validate()`.
pub fn json_body<T: DeserializeOwned>(req: &ApiRequest) -> Result<T> {
    let JsonObject(map) = JsonObject::parse(req)?;
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::BadRequest(format!("Invalid data - {e}")))
}

/// The query string read into `T` (every value a string, as sent).
pub fn query_params<T: DeserializeOwned>(req: &ApiRequest) -> Result<T> {
    let map = req
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::BadRequest(format!("Invalid query - {e}")))
}

/// The parts of a `multipart/form-data` body.
#[derive(Debug, Default)]
pub struct Form {
    /// Text fields.
    pub fields: HashMap<String, String>,
    /// File fields.
    pub files: HashMap<String, Bytes>,
}

/// Parses a `multipart/form-data` body whose files are at most `max_file` bytes.
pub async fn multipart(req: &ApiRequest, max_file: usize) -> Result<Form> {
    let content_type = req.header("content-type").unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| Error::BadRequest("Multipart form parse error - missing boundary.".into()))?;
    if req.body.len() > max_file + MAX_MULTIPART_OVERHEAD {
        return Err(too_large(max_file));
    }
    let body = req.body.clone();
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .per_field(u64::try_from(max_file).unwrap_or(u64::MAX))
            .whole_stream(u64::try_from(max_file + MAX_MULTIPART_OVERHEAD).unwrap_or(u64::MAX)),
    );
    let mut parts = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut form = Form::default();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e, max_file)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        let data = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e, max_file))?;
        if is_file {
            form.files.insert(name, data);
        } else {
            let text = String::from_utf8(data.to_vec())
                .map_err(|_| Error::field(&name, "Not valid UTF-8 text."))?;
            form.fields.insert(name, text);
        }
    }
    Ok(form)
}

fn too_large(max_file: usize) -> Error {
    Error::PayloadTooLarge(format!("Uploaded file is larger than {max_file} bytes."))
}

fn multipart_error(e: multer::Error, max_file: usize) -> Error {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_large(max_file)
        }
        other => Error::BadRequest(format!("Multipart form parse error - {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_specific() {
        assert!(matches!(
            JsonObject::from_bytes(b"{"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            JsonObject::from_bytes(b"[1]"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            JsonObject::from_bytes(&vec![b' '; MAX_JSON_BYTES + 1]),
            Err(Error::PayloadTooLarge(_))
        ));
        assert!(JsonObject::from_bytes(b"").is_ok());
    }
}
