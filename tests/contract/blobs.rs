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
    let store = Arc::new(MemoryBlobStore::new(&base, &[7; 32]));
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

/// PUTs `bytes` to an upload slot with its headers; the status.
async fn put_into(slot: &chat_core::ports::UploadSlot, bytes: &[u8]) -> u16 {
    let mut request = reqwest::Client::new().put(&slot.url).body(bytes.to_vec());
    for (name, value) in &slot.headers {
        request = request.header(name, value);
    }
    request.send().await.expect("upload").status().as_u16()
}

#[tokio::test]
async fn s3_upload_slots_fix_type_and_size_and_tag_uploads_pending_until_kept() {
    let (ctx, resources) = dynamodb().await;
    let key = "attachments/R1/U1/A1";
    let now = ctx.clock.now();
    let slot = ctx
        .blobs
        .upload_url(key, "image/png", PNG.len() as u64, now, now.plus_secs(900))
        .await
        .expect("slot");
    // The signature covers the type and the pending tag: a client must send them.
    let query: std::collections::HashMap<String, String> = reqwest::Url::parse(&slot.url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let signed = query
        .get("X-Amz-SignedHeaders")
        .cloned()
        .unwrap_or_default();
    for header in ["content-length", "content-type", "x-amz-tagging"] {
        assert!(
            signed.split(';').any(|h| h == header),
            "{header} in {signed}"
        );
    }
    assert!(slot
        .headers
        .iter()
        .any(|(name, value)| name == "x-amz-tagging" && value == "state=pending"));
    assert_eq!(put_into(&slot, PNG).await, 200);

    let head = ctx.blobs.head(key, 8).await.expect("head").expect("there");
    assert_eq!(
        (head.size, head.content_type.as_str(), head.prefix.as_ref()),
        (PNG.len() as u64, "image/png", &PNG[..8])
    );
    assert!(ctx
        .blobs
        .head("attachments/R1/U1/none", 8)
        .await
        .expect("head")
        .is_none());

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&resources.sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = resources.bucket.clone();
    let tags = || {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            s3.get_object_tagging()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("tags")
                .tag_set()
                .iter()
                .map(|t| format!("{}={}", t.key(), t.value()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(tags().await, ["state=pending"]);
    ctx.blobs.keep(key, true).await.expect("keep");
    assert_eq!(tags().await, ["state=kept"]);
    ctx.blobs.keep(key, false).await.expect("release");
    assert_eq!(tags().await, ["state=pending"]);
    let (status, _, body) = fetch(&ctx.blobs.url(key, ctx.clock.now()).await.expect("url")).await;
    assert_eq!((status, body.as_slice()), (200, PNG));
}

#[tokio::test]
async fn embedded_upload_slots_take_exactly_what_they_announce() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let store = Arc::new(MemoryBlobStore::new(&base, &[7; 32]));
    let router = local_gateway::media::router(local_gateway::media::Media::Memory(store.clone()));
    tokio::spawn(local_gateway::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let key = "attachments/R1/U1/A1";
    let now = chat_core::ports::Clock::now(&chat_core::adapters::SystemClock);
    let slot = store
        .upload_url(key, "image/png", PNG.len() as u64, now, now.plus_secs(900))
        .await
        .expect("slot");

    let mut wrong_type = slot.clone();
    wrong_type.headers = vec![("content-type".into(), "text/html".into())];
    assert_eq!(put_into(&wrong_type, PNG).await, 400);
    assert_eq!(put_into(&slot, &PNG[1..]).await, 400, "too short");
    assert_eq!(
        put_into(&slot, &[PNG, b"x"].concat()).await,
        400,
        "too long"
    );
    let mut bigger = slot.clone();
    bigger.url = bigger
        .url
        .replace(&format!("size={}", PNG.len()), "size=100000");
    assert_eq!(put_into(&bigger, PNG).await, 403, "the size is signed");
    let expired = store
        .upload_url(key, "image/png", PNG.len() as u64, now, now.plus_secs(-1))
        .await
        .expect("slot");
    assert_eq!(put_into(&expired, PNG).await, 403);
    assert!(store.get(key).is_none(), "nothing was stored");

    assert_eq!(put_into(&slot, PNG).await, 200);
    let url = store.url(key, now).await.expect("url");
    let (status, content_type, body) = fetch(&url).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_slice()),
        (200, "image/png", PNG)
    );
    let (status, _, _) = fetch(&url.replace("sig=", "sig=x")).await;
    assert_eq!(status, 403, "a tampered link");
    let (status, _, _) = fetch(&format!("{base}/media/{key}")).await;
    assert_eq!(status, 403, "an unsigned link");

    // Unkept, it goes after a day; kept, it stays.
    let day = chat_core::ports::UNREFERENCED_UPLOAD_SECS;
    assert_eq!(store.sweep(now.plus_secs(day - 60)).expect("sweep"), 0);
    store.keep(key, true).await.expect("keep");
    assert_eq!(store.sweep(now.plus_secs(day + 60)).expect("sweep"), 0);
    store.keep(key, false).await.expect("release");
    assert_eq!(store.sweep(now.plus_secs(2 * day + 60)).expect("sweep"), 1);
    assert!(store.get(key).is_none());
}
