//! The API Gateway management API (`@connections`), served locally so that
//! the production notifier (the AWS SDK's PostToConnection) can be pointed
//! at the local gateway: `POST`, `GET` and `DELETE /@connections/{id}`, with
//! or without a stage prefix (`/{stage}/@connections/{id}`), as on AWS.
//! Requests are not signature-checked, so this API never answers on a
//! public port: on the gateway's own port only when it listens on loopback,
//! else (or with `MANAGEMENT_PORT`) on a listener of its own on 127.0.0.1.
//! As on AWS, a post to a closed connection is `410 GoneException` and one
//! over 128 KB is `413 PayloadTooLargeException`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chat_core::ports::Delivery;

use crate::Sockets;
use http::StatusCode;

use crate::websocket::MAX_MESSAGE_BYTES;

/// The `@connections` routes.
pub fn router(sockets: Sockets) -> Router {
    Router::new()
        .route(
            "/@connections/{id}",
            post(post_to_connection)
                .get(get_connection)
                .delete(delete_connection),
        )
        .route(
            "/{stage}/@connections/{id}",
            post(staged_post).get(staged_get).delete(staged_delete),
        )
        .with_state(sockets)
}

/// The body of an AWS error answer.
#[derive(serde::Serialize)]
struct AwsError {
    message: &'static str,
}

/// The answer to `GET @connections/{id}` (the part clients read).
#[derive(serde::Serialize)]
struct ConnectionInfo {
    identity: Identity,
}

#[derive(serde::Serialize)]
struct Identity {
    #[serde(rename = "sourceIp")]
    source_ip: &'static str,
}

fn error_body(message: &'static str) -> String {
    serde_json::to_string(&AwsError { message }).unwrap_or_default()
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        [
            ("x-amzn-errortype", "GoneException"),
            ("content-type", "application/json"),
        ],
        error_body("Gone"),
    )
        .into_response()
}

async fn post_to_connection(
    State(sockets): State<Sockets>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_MESSAGE_BYTES {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [
                ("x-amzn-errortype", "PayloadTooLargeException"),
                ("content-type", "application/json"),
            ],
            error_body("Message too big"),
        )
            .into_response();
    }
    match sockets.post(&id, &body).await {
        Ok(Delivery::Delivered) => StatusCode::OK.into_response(),
        Ok(Delivery::Gone) => gone(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            [("x-amzn-errortype", "BadRequestException")],
            error_body("Data must be UTF-8 text"),
        )
            .into_response(),
    }
}

async fn get_connection(State(sockets): State<Sockets>, Path(id): Path<String>) -> Response {
    if sockets.is_open(&id).await.unwrap_or(false) {
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            serde_json::to_string(&ConnectionInfo {
                identity: Identity {
                    source_ip: "127.0.0.1",
                },
            })
            .unwrap_or_default(),
        )
            .into_response()
    } else {
        gone()
    }
}

async fn delete_connection(State(sockets): State<Sockets>, Path(id): Path<String>) -> Response {
    if sockets.close(&id).await.unwrap_or(false) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gone()
    }
}

async fn staged_post(
    state: State<Sockets>,
    Path((_stage, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    post_to_connection(state, Path(id), body).await
}

async fn staged_get(state: State<Sockets>, Path((_stage, id)): Path<(String, String)>) -> Response {
    get_connection(state, Path(id)).await
}

async fn staged_delete(
    state: State<Sockets>,
    Path((_stage, id)): Path<(String, String)>,
) -> Response {
    delete_connection(state, Path(id)).await
}
