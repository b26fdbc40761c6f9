//! Serves the files of the embedded blob store or of a media directory and
//! takes uploads into them, standing in for S3's presigned URLs in the
//! local run: `GET /media/{key}` and `PUT /uploads/{key}` work only with a
//! signed, unexpired query (see [`chat_core::adapters::local_media`]).
//! Uploads no message took are swept once their day is up.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use chat_core::adapters::local_media::{LocalUrls, SignedQuery};
use chat_core::adapters::{FileBlobStore, MemoryBlobStore, SystemClock};
use chat_core::domain::Timestamp;
use chat_core::http::errors;
use chat_core::ports::{Blob, Clock as _};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, StatusCode};

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

    async fn upload(&self, key: &str, blob: Blob, now: Timestamp) -> chat_core::Result<()> {
        match self {
            Media::Memory(blobs) => blobs.upload(key, blob, now),
            Media::Files(files) => files.upload(key, blob, now).await,
        }
    }

    fn urls(&self) -> &LocalUrls {
        match self {
            Media::Memory(blobs) => blobs.urls(),
            Media::Files(files) => files.urls(),
        }
    }

    /// Deletes the uploads no message took whose time is up.
    pub async fn sweep(&self, now: Timestamp) -> chat_core::Result<usize> {
        match self {
            Media::Memory(blobs) => blobs.sweep(now),
            Media::Files(files) => files.sweep(now).await,
        }
    }

    /// Sweeps every `every` until the process ends.
    pub fn keep_swept(self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match self.sweep(SystemClock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(swept = n, "deleted uploads no message took"),
                    Err(e) => tracing::warn!(error = %e, "sweeping uploads failed"),
                }
            }
        })
    }
}

/// `GET /media/{*key}` and `PUT /uploads/{*key}`.
pub fn router(media: Media) -> Router {
    Router::new()
        .route("/media/{*key}", get(serve))
        .route("/uploads/{*key}", put(upload))
        .with_state(media)
}

fn refused(status: StatusCode, detail: &str) -> Response {
    into_axum(errors::to_response(match status {
        StatusCode::FORBIDDEN => chat_core::Error::forbidden(detail),
        _ => chat_core::Error::BadRequest(detail.to_owned()),
    }))
}

async fn upload(
    State(media): State<Media>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let now = SystemClock.now();
    let Some(terms) = media.urls().upload_terms(&key, &query, now) else {
        return refused(
            StatusCode::FORBIDDEN,
            "This upload link is not valid or has expired.",
        );
    };
    let sent_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !sent_type.eq_ignore_ascii_case(&terms.content_type) {
        return refused(
            StatusCode::BAD_REQUEST,
            &format!("The upload must have Content-Type {}.", terms.content_type),
        );
    }
    let limit = usize::try_from(terms.size).unwrap_or(usize::MAX);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) if bytes.len() == limit => bytes,
        _ => {
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("The upload must have exactly {} bytes.", terms.size),
            )
        }
    };
    let blob = Blob {
        bytes,
        content_type: terms.content_type,
    };
    match media.upload(&key, blob, now).await {
        Ok(()) => {
            let mut response = Response::new(axum::body::Body::empty());
            *response.status_mut() = StatusCode::OK;
            response
        }
        Err(e) => into_axum(errors::to_response(e)),
    }
}

async fn serve(
    State(media): State<Media>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
) -> Response {
    if !media
        .urls()
        .allows_download(&key, &query, SystemClock.now())
    {
        return refused(
            StatusCode::FORBIDDEN,
            "This link is not valid or has expired.",
        );
    }
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
