//! E-mail one-time codes: six digits from the CSPRNG, stored only as a keyed hash.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::random;
use crate::domain::Email;
use crate::{Error, Result};

/// Number of digits in a code.
pub const OTP_DIGITS: usize = 6;

/// Makes and checks codes. The key keeps a leaked table from being turned
/// back into codes by trying all million of them.
#[derive(Clone)]
pub struct OtpHasher {
    key: Vec<u8>,
}

impl std::fmt::Debug for OtpHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpHasher(***)")
    }
}

impl OtpHasher {
    /// Uses `key` (derived from the server secret) for the hashes.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// A fresh code, e.g. `"042917"`.
    pub fn generate() -> Result<String> {
        Ok(format!("{:06}", random::below(1_000_000)?))
    }

    /// The keyed hash of `code` for `email`, as hex.
    pub fn hash(&self, email: &Email, code: &str) -> Result<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .map_err(|e| Error::internal(format!("otp key: {e}")))?;
        mac.update(email.as_str().as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        Ok(mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// Whether `code` matches `stored_hash`, compared in constant time.
    pub fn matches(&self, email: &Email, code: &str, stored_hash: &str) -> Result<bool> {
        let candidate = self.hash(email, code)?;
        Ok(random::constant_time_eq(
            candidate.as_bytes(),
            stored_hash.as_bytes(),
        ))
    }
}

/// Whether `raw` has the shape of a code (exactly six ASCII digits).
pub fn is_code_shaped(raw: &str) -> bool {
    raw.len() == OTP_DIGITS && raw.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_verify_only_for_their_address() -> Result<()> {
        let hasher = OtpHasher::new(b"k");
        let code = OtpHasher::generate()?;
        assert!(is_code_shaped(&code));
        let alice = Email::parse("alice@example.com").map_err(Error::BadRequest)?;
        let bob = Email::parse("bob@example.com").map_err(Error::BadRequest)?;
        let stored = hasher.hash(&alice, &code)?;
        assert!(hasher.matches(&alice, &code, &stored)?);
        assert!(!hasher.matches(&bob, &code, &stored)?);
        assert!(!OtpHasher::new(b"other").matches(&alice, &code, &stored)?);
        Ok(())
    }

    #[test]
    fn code_shape() {
        assert!(is_code_shaped("000123"));
        assert!(!is_code_shaped("12345"));
        assert!(!is_code_shaped("12345a"));
        assert!(!is_code_shaped("１２３４５６"));
    }
}
