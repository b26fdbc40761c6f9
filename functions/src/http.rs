//! API Gateway HTTP API (payload 2.0) events to and from the shared handlers.

use std::collections::HashMap;

use chat_core::http::{handle, ApiRequest, ApiResponse, Route};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};

use chat_aws::setup::Needs;

use crate::backend;

/// What a REST route's function uses besides DynamoDB: the route → clients
/// table. A function builds only these clients at its cold start, and its
/// template policy allows only these services.
pub const fn route_needs(route: Route) -> Needs {
    use Route::*;
    Needs {
        mail: matches!(route, Register | ResendOtp | PasswordReset),
        blobs: matches!(
            route,
            ProfileGet
                | ProfileUpdate
                | RoomGet
                | MembersList
                | MembersAdd
                | MemberUpdate
                | AttachmentCreate
                | AttachmentGet
                | MessagesSend
                | MessageDelete
        ),
        // Messages and their changes and read marks are pushed; ending
        // sessions closes their sockets (a password reset, a logout, a
        // replayed refresh token), and so does leaving a room (its sockets).
        notifier: matches!(
            route,
            MessagesSend
                | MessageEdit
                | MessageDelete
                | ReactionAdd
                | ReactionRemove
                | RoomRead
                | MemberRemove
                | RoomLeave
                | PasswordResetConfirm
                | Logout
                | TokenRefresh
        ),
    }
}

/// Serves `route` until the Lambda runtime stops: initialises tracing, builds
/// the context once (with the clients [`route_needs`] names), then handles
/// each invocation with the shared handler.
pub async fn run(route: Route) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let ctx = backend::init(route_needs(route)).await?;
    lambda_http::run(service_fn(move |event: Request| {
        let ctx = ctx.clone();
        async move {
            let response = handle(&ctx, route, to_api_request(event)).await;
            Ok::<_, std::convert::Infallible>(to_lambda_response(response))
        }
    }))
    .await
}

/// Converts a Lambda HTTP event to the handlers' request type.
pub fn to_api_request(event: Request) -> ApiRequest {
    let path_params = event
        .path_parameters_ref()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut query: HashMap<String, String> = HashMap::new();
    if let Some(q) = event.query_string_parameters_ref() {
        for (k, v) in q.iter() {
            query.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
    }
    let source_ip = match event.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            // SAM's sample events write it as a CIDR block (`…/32`).
            .and_then(|ip| ip.split('/').next()?.parse().ok()),
        _ => None,
    };
    let (parts, body) = event.into_parts();
    let body = bytes::Bytes::copy_from_slice(body.as_ref());
    ApiRequest {
        method: parts.method,
        path_params,
        query,
        headers: parts.headers,
        body,
        source_ip,
    }
}

/// Converts the handlers' response to a Lambda HTTP response. Text bodies
/// stay text; anything else is sent base64-encoded by the runtime.
pub fn to_lambda_response(response: ApiResponse) -> Response<Body> {
    let body = if response.body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(response.body.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
