//! The functions trust the AWS roots only: a server whose certificate does
//! not chain to them is refused, one whose CA `AWS_CA_BUNDLE` names is
//! accepted, and the connection opened at init is the one the first
//! request uses.
//!
//! The server is a TLS listener on 127.0.0.1 with a certificate for
//! `localhost` issued by `fixtures/test-ca.pem` (a CA made for this test
//! and trusted nowhere else), answering every request like DynamoDB
//! answers a GetItem of a missing key.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_config::SdkConfig;
use chat_aws::dynamo::DynamoStore;
use chat_aws::setup::{self, AwsSettings};
use chat_aws::tls;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// TCP connections accepted.
    connections: AtomicUsize,
    /// TLS handshakes completed.
    handshakes: AtomicUsize,
    /// HTTP requests answered.
    requests: AtomicUsize,
}

/// Starts the server; returns its `https://localhost:<port>` and what it saw.
async fn start_server() -> (String, Arc<Seen>) {
    let certs = CertificateDer::pem_file_iter(fixture("localhost.pem"))
        .expect("certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).expect("key");
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            counts.connections.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let counts = counts.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counts.handshakes.fetch_add(1, Ordering::SeqCst);
                // HTTP/1.1 with keep-alive: answer request after request.
                let mut buffer = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    buffer.drain(..end + 4 + length);
                    counts.requests.fetch_add(1, Ordering::SeqCst);
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
                    if tls.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("https://localhost:{port}"), seen)
}

/// The SDK configuration a function builds, with `lookup` as its environment.
fn sdk_config(endpoint: &str, lookup: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let store = tls::trust_store(lookup).expect("trust store");
    setup::emulator_sdk_config(endpoint)
        .into_builder()
        .http_client(tls::https_client(store).expect("https client"))
        .build()
}

fn settings() -> AwsSettings {
    AwsSettings::from_lookup(|name| (name == "TABLE_NAME").then(|| "chat".to_owned()))
        .expect("settings")
}

fn store(sdk: &SdkConfig) -> DynamoStore {
    DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), "chat")
}

#[tokio::test]
async fn a_certificate_that_does_not_chain_to_the_aws_roots_is_refused() {
    let (endpoint, seen) = start_server().await;
    let sdk = sdk_config(&endpoint, |_| None);
    let refused = store(&sdk).touch().await;
    assert!(refused.is_err(), "the request went through: {refused:?}");
    assert!(
        seen.connections.load(Ordering::SeqCst) >= 1,
        "it did connect"
    );
    assert_eq!(
        seen.handshakes.load(Ordering::SeqCst),
        0,
        "no handshake completed"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0, "nothing was sent");
}

#[tokio::test]
async fn the_ca_named_by_aws_ca_bundle_is_trusted_too() {
    let (endpoint, seen) = start_server().await;
    let bundle = fixture("test-ca.pem").display().to_string();
    let sdk = sdk_config(&endpoint, |name| {
        (name == "AWS_CA_BUNDLE").then(|| bundle.clone())
    });
    store(&sdk)
        .touch()
        .await
        .expect("trusted through AWS_CA_BUNDLE");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_connection_opened_at_init_serves_the_first_request() {
    let (endpoint, seen) = start_server().await;
    let bundle = fixture("test-ca.pem").display().to_string();
    let sdk = sdk_config(&endpoint, |name| {
        (name == "AWS_CA_BUNDLE").then(|| bundle.clone())
    });
    setup::open_connections(&sdk, &settings()).await;
    assert_eq!(seen.handshakes.load(Ordering::SeqCst), 1);
    // The function's own client, built from the same configuration.
    store(&sdk).touch().await.expect("request");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        seen.handshakes.load(Ordering::SeqCst),
        1,
        "the first request reused the connection opened at init"
    );
}
