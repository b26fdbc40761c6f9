//! One binary for every function: the route a function serves is named by
//! its `CHAT_ROUTE` variable (the template sets it per function), so that a
//! deploy build compiles and links once instead of once per function. Each
//! function still initialises only the clients its route needs.

use chat_core::http::{Route, ROUTES};

use crate::{http, websocket};

/// The variable naming the route a function serves.
pub const ROUTE_VARIABLE: &str = "CHAT_ROUTE";

/// The WebSocket functions' names and the route keys they serve.
pub const WEBSOCKET_FUNCTIONS: &[(&str, &str)] = &[
    ("ws-connect", "$connect"),
    ("ws-default", "$default"),
    ("ws-disconnect", "$disconnect"),
];

/// The function that authorizes `$connect` (see [`chat_core::ws::authorize`]).
pub const AUTHORIZER_FUNCTION: &str = "ws-authorize";

/// What `CHAT_ROUTE` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// A REST route.
    Http(Route),
    /// A WebSocket route key (`$connect`, `$default`, `$disconnect`).
    WebSocket(&'static str),
    /// The `$connect` route's authorizer.
    Authorizer,
}

/// Why the function cannot tell which route it serves.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// `CHAT_ROUTE` is not set.
    #[error("{ROUTE_VARIABLE} is not set: it names the route this function serves (e.g. \"messages-send\", \"ws-default\")")]
    Missing,
    /// `CHAT_ROUTE` names no route.
    #[error("{ROUTE_VARIABLE}={0:?} names no route; known: {known}", known = names().join(", "))]
    Unknown(String),
}

/// Every name `CHAT_ROUTE` accepts: the REST functions, then the WebSocket ones.
pub fn names() -> Vec<&'static str> {
    ROUTES
        .iter()
        .map(|spec| spec.function)
        .chain(WEBSOCKET_FUNCTIONS.iter().map(|(name, _)| *name))
        .chain([AUTHORIZER_FUNCTION])
        .collect()
}

/// The function called `name` (a REST route's function name or `ws-…`).
pub fn function_named(name: &str) -> Result<Function, RouteError> {
    if let Some(spec) = ROUTES.iter().find(|spec| spec.function == name) {
        return Ok(Function::Http(spec.route));
    }
    if name == AUTHORIZER_FUNCTION {
        return Ok(Function::Authorizer);
    }
    WEBSOCKET_FUNCTIONS
        .iter()
        .find(|(function, _)| *function == name)
        .map(|(_, key)| Function::WebSocket(key))
        .ok_or_else(|| RouteError::Unknown(name.to_owned()))
}

/// Serves the route named by `CHAT_ROUTE` until the Lambda runtime stops.
pub async fn run_from_env() -> Result<(), lambda_runtime::Error> {
    let name = std::env::var(ROUTE_VARIABLE).unwrap_or_default();
    let function = if name.is_empty() {
        Err(RouteError::Missing)
    } else {
        function_named(&name)
    };
    match function {
        Ok(Function::WebSocket(key)) => websocket::run(key).await,
        Ok(Function::Authorizer) => websocket::run_authorizer().await,
        Ok(Function::Http(route)) => http::run(route).await,
        Err(e) => {
            // The init error Lambda reports; the log says it too.
            lambda_runtime::tracing::init_default_subscriber();
            tracing::error!("cannot start: {e}");
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_named_once_and_found_by_its_name() {
        let names = names();
        assert_eq!(names.len(), ROUTES.len() + WEBSOCKET_FUNCTIONS.len() + 1);
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
            assert!(function_named(name).is_ok(), "{name}");
        }
        assert_eq!(
            function_named("messages-send").ok(),
            Some(Function::Http(Route::MessagesSend))
        );
        assert_eq!(
            function_named("ws-connect").ok(),
            Some(Function::WebSocket("$connect"))
        );
        assert_eq!(
            function_named("ws-authorize").ok(),
            Some(Function::Authorizer)
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_known_ones() {
        let err = function_named("messages-sned").expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("\"messages-sned\""), "{text}");
        assert!(
            text.contains("messages-send") && text.contains("ws-disconnect"),
            "{text}"
        );
    }
}
