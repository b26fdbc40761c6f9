//! Events shaped as API Gateway sends them to a Lambda: HTTP API payload
//! format 2.0 for the REST routes, WebSocket API events for the others.

use base64::Engine as _;
use chat_core::http::ROUTES;
use serde_json::{json, Map, Value};

/// An HTTP API request: the method, the concrete path and its query string.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    headers: Map<String, Value>,
    body: Option<(Vec<u8>, bool)>,
    source_ip: &'static str,
}

impl HttpRequest {
    /// A request without a body.
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Map::new(),
            body: None,
            source_ip: "192.0.2.1",
        }
    }

    /// The client's address, as API Gateway reports it (`192.0.2.1` unless set).
    pub fn source_ip(mut self, ip: &'static str) -> Self {
        self.source_ip = ip;
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.headers
            .insert("authorization".into(), format!("Bearer {token}").into());
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body (sent as text, as API Gateway does for JSON).
    pub fn json(self, body: &Value) -> Self {
        self.text("application/json", &body.to_string())
    }

    /// A text body of `content_type`.
    pub fn text(mut self, content_type: &str, body: &str) -> Self {
        self.headers
            .insert("content-type".into(), content_type.into());
        self.body = Some((body.as_bytes().to_vec(), false));
        self
    }

    /// A binary body, base64-encoded in the event as API Gateway does.
    pub fn binary(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .insert("content-type".into(), content_type.into());
        self.body = Some((body, true));
        self
    }

    /// The event API Gateway hands to the route's function: the route key and
    /// path parameters come from the route's template, as the HTTP API's
    /// routes (`infra/template.yaml`) are the same paths.
    pub fn event(&self) -> Value {
        let (template, params) = ROUTES
            .iter()
            .filter(|spec| spec.methods.contains(&self.method))
            .find_map(|spec| match_template(spec.path, &self.path).map(|p| (spec.path, p)))
            .unwrap_or_else(|| panic!("no route for {} {}", self.method, self.path));
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = self.headers.clone();
        headers.insert(
            "host".into(),
            "abc123.execute-api.eu-west-1.amazonaws.com".into(),
        );
        headers.insert("user-agent".into(), "lambda-events-test".into());
        let mut event = json!({
            "version": "2.0",
            "routeKey": format!("{} {template}", self.method),
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": "lambda-events-test"
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": format!("{} {template}", self.method),
                "stage": "$default",
                "time": "26/Nov/2026:20:15:35 +0000",
                "timeEpoch": 1_795_724_135_000_u64
            },
            "isBase64Encoded": false
        });
        if !params.is_empty() {
            event["pathParameters"] = Value::Object(params);
        }
        if !self.query.is_empty() {
            event["queryStringParameters"] = self
                .query
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect::<Map<_, _>>()
                .into();
        }
        if let Some((body, binary)) = &self.body {
            if *binary {
                event["body"] = base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into();
                event["isBase64Encoded"] = true.into();
            } else {
                event["body"] = String::from_utf8_lossy(body).into_owned().into();
            }
        }
        event
    }
}

/// The SAM CLI the test command installs (`.venv/bin/sam`), or `SAM_CLI`.
pub fn sam_cli() -> std::path::PathBuf {
    std::env::var_os("SAM_CLI").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/sam"),
        std::path::PathBuf::from,
    )
}

impl HttpRequest {
    /// The same request as an event generated by SAM itself
    /// (`sam local generate-event apigateway http-api-proxy`) with this
    /// request's method, path, body and `stage`: everything else (source IP,
    /// cookies, authorizer, client certificate, time) is as SAM makes it.
    /// The route key, path and query parameters and the headers a client
    /// sends are this request's, which SAM has no options for.
    pub fn sam_event(&self, stage: &str) -> Value {
        let ours = self.event();
        let text_body = match &self.body {
            Some((body, false)) => String::from_utf8_lossy(body).into_owned(),
            _ => String::new(),
        };
        let sam = sam_cli();
        let output = std::process::Command::new(&sam)
            .args(["local", "generate-event", "apigateway", "http-api-proxy"])
            .args(["--method", self.method])
            .args(["--path", self.path.trim_start_matches('/')])
            .args(["--body", &text_body])
            .args(["--stage", stage])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{} cannot run ({e}): `bash .ci/test-all` installs the SAM CLI into .venv",
                    sam.display()
                )
            });
        assert!(
            output.status.success(),
            "sam generate-event failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut event: Value = serde_json::from_slice(&output.stdout).expect("SAM prints JSON");
        assert_eq!(event["rawPath"], ours["rawPath"], "SAM took the path");
        assert_eq!(event["requestContext"]["http"]["method"], self.method);
        assert_eq!(event["requestContext"]["stage"], stage);
        for field in ["routeKey", "rawQueryString"] {
            event[field] = ours[field].clone();
        }
        event["requestContext"]["routeKey"] = ours["routeKey"].clone();
        for field in ["pathParameters", "queryStringParameters"] {
            match ours.get(field) {
                Some(value) => event[field] = value.clone(),
                None => {
                    if let Some(map) = event.as_object_mut() {
                        map.remove(field);
                    }
                }
            }
        }
        if let (Some(headers), Some(extra)) = (
            event["headers"].as_object_mut(),
            ours["headers"].as_object(),
        ) {
            for (name, value) in extra {
                headers.insert(name.clone(), value.clone());
            }
        }
        if matches!(self.body, Some((_, true))) {
            event["body"] = ours["body"].clone();
            event["isBase64Encoded"] = true.into();
        } else if self.body.is_none() {
            if let Some(map) = event.as_object_mut() {
                map.remove("body");
            }
        }
        event
    }
}

/// The parameters of `path` if it matches `template` (`{name}` segments).
fn match_template(template: &str, path: &str) -> Option<Map<String, Value>> {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    let mut params = Map::new();
    for (t, p) in template.iter().zip(&path) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_owned(), (*p).into());
            }
            None if t == p => {}
            None => return None,
        }
    }
    Some(params)
}

/// The answer of an HTTP API function: status and JSON body.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: Value,
}

/// Reads a function's payload-2.0 response.
pub fn http_answer(response: &Value) -> HttpAnswer {
    let status = response["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or_else(|| panic!("no statusCode in {response}"));
    let raw = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    };
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {raw}"))
    };
    HttpAnswer { status, body }
}

/// A WebSocket API event for `route_key` on `connection_id`.
pub fn ws_event(route_key: &str, connection_id: &str) -> Value {
    let event_type = match route_key {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    json!({
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1_795_724_135_000_u64,
            "requestTimeEpoch": 1_795_724_135_000_u64,
            "identity": { "sourceIp": "192.0.2.1" },
            "requestId": "x",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "abc123"
        },
        "isBase64Encoded": false
    })
}
