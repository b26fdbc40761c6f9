//! Whom the AWS clients trust. A function's HTTPS connections go to AWS
//! endpoints only (DynamoDB, S3, SES, SSM, the WebSocket management API),
//! whose certificates chain to the Amazon Trust Services roots; those five
//! roots are compiled in, instead of reading the system's bundle of 140-odd
//! at every cold start (the largest part of a function's init before).
//!
//! | variable | meaning |
//! |---|---|
//! | `AWS_CA_BUNDLE` | a PEM file of further roots to trust (an emulator's or a private endpoint's CA, a TLS-inspecting proxy) |
//! | `TLS_NATIVE_ROOTS` | `true`: also trust the system's roots |

use std::path::PathBuf;

use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Amazon Root CA 1-4 and Starfield Services Root CA G2 (which
/// cross-signs them), as Mozilla's bundle ships them.
const AWS_ROOTS: [&[u8]; 5] = [
    include_bytes!("../roots/amazon-root-ca-1.pem"),
    include_bytes!("../roots/amazon-root-ca-2.pem"),
    include_bytes!("../roots/amazon-root-ca-3.pem"),
    include_bytes!("../roots/amazon-root-ca-4.pem"),
    include_bytes!("../roots/starfield-services-root-ca-g2.pem"),
];

/// The trust settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `AWS_CA_BUNDLE` names a file that cannot be read.
    #[error("AWS_CA_BUNDLE={path:?} cannot be read: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `AWS_CA_BUNDLE` holds no certificate, or one that does not parse.
    #[error("AWS_CA_BUNDLE={path:?} is not a PEM file of certificates: {reason}")]
    NotCertificates {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS settings were refused by the HTTP client.
    #[error("the TLS settings cannot be used: {0}")]
    Context(String),
}

/// The roots to trust: the AWS roots, plus `AWS_CA_BUNDLE`'s and, with
/// `TLS_NATIVE_ROOTS=true`, the system's (read through `lookup`).
pub fn trust_store(lookup: impl Fn(&str) -> Option<String>) -> Result<TrustStore, TlsError> {
    let native = lookup("TLS_NATIVE_ROOTS").is_some_and(|v| v == "true" || v == "1");
    let mut store = TrustStore::empty().with_native_roots(native);
    for root in AWS_ROOTS {
        store.add_pem_certificate(root);
    }
    if let Some(path) = lookup("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let pem = std::fs::read(&path).map_err(|source| TlsError::Unreadable {
            path: path.clone(),
            source,
        })?;
        check_certificates(&pem).map_err(|reason| TlsError::NotCertificates {
            path: path.clone(),
            reason,
        })?;
        store.add_pem_certificate(pem);
    }
    Ok(store)
}

/// The SDK's HTTP client would panic on a bad certificate at its first
/// request; a bad bundle should stop the cold start with a clear error instead.
fn check_certificates(pem: &[u8]) -> Result<(), String> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| e.to_string())?;
        count += 1;
    }
    if count == 0 {
        return Err("it holds no certificate".into());
    }
    Ok(())
}

/// The HTTPS client of every AWS SDK client: rustls on aws-lc, trusting
/// `store` only.
pub fn https_client(store: TrustStore) -> Result<SharedHttpClient, TlsError> {
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| TlsError::Context(e.to_string()))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_certificates() {
        for root in AWS_ROOTS {
            assert_eq!(check_certificates(root), Ok(()));
        }
    }

    #[test]
    fn a_bundle_without_certificates_is_refused_before_any_request() {
        let dir = std::env::temp_dir().join(format!("chat-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing here\n").expect("write");
        let lookup = |name: &str| (name == "AWS_CA_BUNDLE").then(|| empty.display().to_string());
        assert!(matches!(
            trust_store(lookup),
            Err(TlsError::NotCertificates { .. })
        ));
        let missing = dir.join("missing.pem");
        let lookup = |name: &str| (name == "AWS_CA_BUNDLE").then(|| missing.display().to_string());
        assert!(matches!(
            trust_store(lookup),
            Err(TlsError::Unreadable { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
