//! Pictures: what is stored comes back from the URL a client is given.

use std::sync::Arc;

use chat_core::adapters::MemoryBlobStore;
use chat_core::ports::{Blob, BlobStore};

use crate::support::{dynamodb, T0};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRfake";

async fn fetch(url: &str) -> (u16, String, Vec<u8>) {
    let response = reqwest::get(url).await.expect("fetch");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.bytes().await.expect("bytes").to_vec(),
    )
}

fn blob() -> Blob {
    Blob {
        bytes: bytes_of(PNG),
        content_type: "image/png".into(),
    }
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

#[tokio::test]
async fn s3_presigned_urls_serve_the_uploaded_bytes() {
    let (ctx, _resources) = dynamodb().await;
    ctx.blobs
        .put("profile-pictures/u1", blob())
        .await
        .expect("put");
    let url = ctx
        .blobs
        .url("profile-pictures/u1", ctx.clock.now())
        .await
        .expect("url");
    let (status, content_type, body) = fetch(&url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(content_type, "image/png");
    assert_eq!(body, PNG);
    // A replaced picture is served at once.
    let mut other = blob();
    other.bytes = bytes_of(b"GIF89a-new");
    other.content_type = "image/gif".into();
    ctx.blobs
        .put("profile-pictures/u1", other)
        .await
        .expect("put");
    let (_, content_type, body) = fetch(
        &ctx.blobs
            .url("profile-pictures/u1", ctx.clock.now())
            .await
            .expect("url"),
    )
    .await;
    assert_eq!(
        (content_type.as_str(), body.as_slice()),
        ("image/gif", b"GIF89a-new".as_slice())
    );
}

#[tokio::test]
async fn presigned_urls_are_signed_for_a_limited_time_from_now() {
    // The emulator does not check signatures, so the signing itself is checked here.
    let (ctx, resources) = dynamodb().await;
    let url = ctx.blobs.url("profile-pictures/u1", T0).await.expect("url");
    let parsed = reqwest::Url::parse(&url).expect("url");
    let query: std::collections::HashMap<String, String> =
        parsed.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("X-Amz-Algorithm").map(String::as_str),
        Some("AWS4-HMAC-SHA256")
    );
    assert_eq!(query.get("X-Amz-Expires").map(String::as_str), Some("900"));
    assert_eq!(
        query.get("X-Amz-Date").map(String::as_str),
        Some("20270115T080000Z")
    );
    assert!(query
        .get("X-Amz-Credential")
        .is_some_and(|c| c.starts_with("testing/20270115/us-east-1/s3/aws4_request")));
    assert_eq!(query.get("X-Amz-Signature").map(String::len), Some(64));
    assert!(
        parsed
            .path()
            .ends_with(&format!("/{}/profile-pictures/u1", resources.bucket)),
        "path-style: {url}"
    );
    let later = ctx
        .blobs
        .url("profile-pictures/u1", T0.plus_secs(1))
        .await
        .expect("url");
    assert_ne!(later, url, "each URL is signed for its own time");
}

#[tokio::test]
async fn embedded_urls_serve_the_uploaded_bytes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let store = Arc::new(MemoryBlobStore::new(&base));
    let router = local_gateway::media::router(local_gateway::media::Media::Memory(store.clone()));
    tokio::spawn(local_gateway::serve(
        listener,
        router,
        std::future::pending(),
    ));
    store.put("profile-pictures/u1", blob()).await.expect("put");
    let url = store.url("profile-pictures/u1", T0).await.expect("url");
    let (status, content_type, body) = fetch(&url).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(body, PNG);
}
