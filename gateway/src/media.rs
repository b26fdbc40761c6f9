//! Serves pictures of the embedded blob store, standing in for S3's
//! presigned URLs in the local run.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chat_core::adapters::MemoryBlobStore;
use chat_core::http::errors;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::HeaderValue;

use crate::into_axum;

/// `GET /media/{*key}`.
pub fn router(blobs: Arc<MemoryBlobStore>) -> Router {
    Router::new()
        .route("/media/{*key}", get(serve))
        .with_state(blobs)
}

async fn serve(State(blobs): State<Arc<MemoryBlobStore>>, Path(key): Path<String>) -> Response {
    let Some(blob) = blobs.get(&key) else {
        return into_axum(errors::not_found());
    };
    let mut response = Response::new(axum::body::Body::from(blob.bytes));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&blob.content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    response
}
