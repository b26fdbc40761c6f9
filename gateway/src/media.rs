//! Serves pictures of the embedded blob store or of a media directory,
//! standing in for S3's presigned URLs in the local run.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chat_core::adapters::{FileBlobStore, MemoryBlobStore};
use chat_core::http::errors;
use chat_core::ports::Blob;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::HeaderValue;

use crate::into_axum;

/// Where `/media/` reads from.
#[derive(Debug, Clone)]
pub enum Media {
    /// The process's memory (the embedded run).
    Memory(Arc<MemoryBlobStore>),
    /// A directory every process of a deployment can share (`MEDIA_DIR`).
    Files(Arc<FileBlobStore>),
}

impl Media {
    async fn get(&self, key: &str) -> chat_core::Result<Option<Blob>> {
        match self {
            Media::Memory(blobs) => Ok(blobs.get(key)),
            Media::Files(files) => files.get(key).await,
        }
    }
}

/// `GET /media/{*key}`.
pub fn router(media: Media) -> Router {
    Router::new()
        .route("/media/{*key}", get(serve))
        .with_state(media)
}

async fn serve(State(media): State<Media>, Path(key): Path<String>) -> Response {
    let blob = match media.get(&key).await {
        Ok(Some(blob)) => blob,
        Ok(None) => return into_axum(errors::not_found()),
        Err(e) => return into_axum(errors::to_response(e)),
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
