//! Signed URLs of the local blob stores, standing in for S3's presigned
//! ones: the gateway serves `GET /media/{key}` and takes `PUT
//! /uploads/{key}` only with a signature of this key, method and terms
//! that has not expired. The signing key is derived from the JWT secret,
//! so that every gateway process of a deployment accepts the same URLs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::domain::Timestamp;
use crate::ports::UploadSlot;

/// How long a local download URL works.
pub const LOCAL_URL_TTL_SECS: i64 = 900;

/// The query of a signed URL, as the gateway receives it.
#[derive(Debug, Default, Deserialize)]
pub struct SignedQuery {
    /// Expiry, in seconds since the epoch.
    pub exp: Option<i64>,
    /// The upload's size in bytes.
    pub size: Option<u64>,
    /// The upload's media type.
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    /// The signature.
    pub sig: Option<String>,
}

/// What a valid upload URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTerms {
    /// Exactly this many bytes.
    pub size: u64,
    /// Of this media type.
    pub content_type: String,
}

/// Signs and checks the URLs of one local store.
#[derive(Clone)]
pub struct LocalUrls {
    base_url: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for LocalUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalUrls")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl LocalUrls {
    /// URLs under `base_url`, signed with a key derived from `secret`.
    pub fn new(base_url: impl Into<String>, secret: &[u8]) -> Self {
        let key = mac(secret, b"local media URLs");
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// A URL to fetch `key` until `expires_at`.
    pub fn download(&self, key: &str, expires_at: Timestamp) -> String {
        let exp = expires_at.millis() / 1000;
        let sig = self.sign(&format!("GET\n{key}\n{exp}"));
        format!("{}/media/{key}?exp={exp}&sig={sig}", self.base_url)
    }

    /// A URL to `PUT` exactly `size` bytes of `content_type` to `key`
    /// until `expires_at`.
    pub fn upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: Timestamp,
    ) -> UploadSlot {
        let exp = expires_at.millis() / 1000;
        let sig = self.sign(&format!("PUT\n{key}\n{exp}\n{size}\n{content_type}"));
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("exp", &exp.to_string())
            .append_pair("size", &size.to_string())
            .append_pair("type", content_type)
            .append_pair("sig", &sig)
            .finish();
        UploadSlot {
            url: format!("{}/uploads/{key}?{query}", self.base_url),
            headers: vec![("content-type".into(), content_type.into())],
        }
    }

    /// Whether `query` signs a download of `key` that has not expired.
    pub fn allows_download(&self, key: &str, query: &SignedQuery, now: Timestamp) -> bool {
        let (Some(exp), Some(sig)) = (query.exp, &query.sig) else {
            return false;
        };
        exp >= now.millis() / 1000 && self.verify(&format!("GET\n{key}\n{exp}"), sig)
    }

    /// What `query` allows uploading to `key`, if it is signed and has not
    /// expired.
    pub fn upload_terms(
        &self,
        key: &str,
        query: &SignedQuery,
        now: Timestamp,
    ) -> Option<UploadTerms> {
        let (Some(exp), Some(size), Some(content_type), Some(sig)) =
            (query.exp, query.size, &query.content_type, &query.sig)
        else {
            return None;
        };
        let signed = format!("PUT\n{key}\n{exp}\n{size}\n{content_type}");
        (exp >= now.millis() / 1000 && self.verify(&signed, sig)).then(|| UploadTerms {
            size,
            content_type: content_type.clone(),
        })
    }

    fn sign(&self, what: &str) -> String {
        URL_SAFE_NO_PAD.encode(mac(&self.key, what.as_bytes()))
    }

    fn verify(&self, what: &str, sig: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return false;
        };
        m.update(what.as_bytes());
        m.verify_slice(&given).is_ok()
    }
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> SignedQuery {
        let raw = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect();
        SignedQuery {
            exp: pairs.get("exp").and_then(|v| v.parse().ok()),
            size: pairs.get("size").and_then(|v| v.parse().ok()),
            content_type: pairs.get("type").cloned(),
            sig: pairs.get("sig").cloned(),
        }
    }

    #[test]
    fn signed_urls_work_for_their_key_and_terms_until_they_expire() {
        let urls = LocalUrls::new("http://127.0.0.1:8000/", &[7; 32]);
        let now = Timestamp::from_millis(1_000_000);
        let later = now.plus_secs(60);
        let get = urls.download("attachments/R/U/A", later);
        assert!(get.starts_with("http://127.0.0.1:8000/media/attachments/R/U/A?"));
        assert!(urls.allows_download("attachments/R/U/A", &query(&get), now));
        assert!(!urls.allows_download("attachments/R/U/B", &query(&get), now));
        assert!(!urls.allows_download("attachments/R/U/A", &query(&get), later.plus_secs(1)));
        let other = LocalUrls::new("http://127.0.0.1:8000", &[8; 32]);
        assert!(!other.allows_download("attachments/R/U/A", &query(&get), now));

        let put = urls.upload("attachments/R/U/A", "image/png", 42, later);
        assert_eq!(
            put.headers,
            vec![("content-type".to_owned(), "image/png".to_owned())]
        );
        assert_eq!(
            urls.upload_terms("attachments/R/U/A", &query(&put.url), now),
            Some(UploadTerms {
                size: 42,
                content_type: "image/png".into()
            })
        );
        let mut bigger = query(&put.url);
        bigger.size = Some(43);
        assert_eq!(urls.upload_terms("attachments/R/U/A", &bigger, now), None);
        assert!(!urls.allows_download("attachments/R/U/A", &query(&put.url), now));
        assert_eq!(
            urls.upload_terms("attachments/R/U/A", &query(&get), now),
            None
        );
    }
}
