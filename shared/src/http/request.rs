//! Transport-neutral request and response.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;

/// A request as the handlers see it.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Values of the route's `{name}` path segments.
    pub path_params: HashMap<String, String>,
    /// Query parameters, decoded (the first value of a repeated name wins).
    pub query: HashMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The caller's address as API Gateway (or the local gateway's peer)
    /// saw it: the client that per-client rate limits count against.
    pub source_ip: Option<std::net::IpAddr>,
}

impl ApiRequest {
    /// Decodes a raw query string such as `limit=10&before=abc`.
    pub fn parse_query(raw: &str) -> HashMap<String, String> {
        let mut query = HashMap::new();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            query
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        query
    }

    /// A path parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name).map(String::as_str)
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// A header's value, if it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type without parameters, lower-cased (`application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.header(CONTENT_TYPE.as_str()).map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// A response as the handlers produce it.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers (the content type among them).
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl ApiResponse {
    /// A JSON response.
    pub fn json(status: StatusCode, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Self {
            status,
            headers,
            body: Bytes::from(body),
        }
    }

    /// A response without a body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The body parsed as JSON (for tests and tools).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded_and_first_value_wins() {
        let q = ApiRequest::parse_query("before=a%2Bb&limit=5&limit=7&x");
        assert_eq!(q.get("before").map(String::as_str), Some("a+b"));
        assert_eq!(q.get("limit").map(String::as_str), Some("5"));
        assert_eq!(q.get("x").map(String::as_str), Some(""));
    }
}
