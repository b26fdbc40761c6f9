//! API Gateway WebSocket events to and from the shared handler.

use chat_core::ws::{self, AuthorizerEvent, WsEvent, WsResponse};
use lambda_runtime::{service_fn, LambdaEvent};

use chat_aws::setup::Needs;

use crate::backend;

/// Serves the WebSocket route `route_key` until the runtime stops. An event
/// for another route is answered 400: the API's routes are wired wrongly.
pub async fn run(route_key: &'static str) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let ctx = backend::init(Needs::WEBSOCKET).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<WsEvent>| {
        let ctx = ctx.clone();
        async move {
            let event = event.payload;
            let is_mine = event.request_context.route_key == route_key
                || (route_key == "$default" && !event.request_context.route_key.starts_with('$'));
            if !is_mine {
                tracing::error!(got = %event.request_context.route_key, "event for another route");
                return Ok::<_, std::convert::Infallible>(WsResponse {
                    status_code: 400,
                    body: None,
                });
            }
            Ok(ws::handle(&ctx, event).await)
        }
    }))
    .await
}

/// Serves the `$connect` authorizer until the runtime stops: it reads the
/// token only (no store, no pushes), so it builds no such client.
pub async fn run_authorizer() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let ctx = backend::init_token_reader()
        .await
        .inspect_err(|e| tracing::error!("cannot start: {e}"))?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<AuthorizerEvent>| {
        let ctx = ctx.clone();
        async move { Ok::<_, std::convert::Infallible>(ws::authorize(&ctx, &event.payload)) }
    }))
    .await
}
