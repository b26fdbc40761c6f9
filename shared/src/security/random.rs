//! Randomness from the operating system's CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::{Error, Result};

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf).map_err(|e| Error::internal(format!("no randomness: {e}")))
}

/// A random 128-bit value as 22 URL-safe characters (token ids, families).
pub fn token_id() -> Result<String> {
    let mut buf = [0u8; 16];
    fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A uniformly distributed number below `bound` (which must be non-zero).
pub fn below(bound: u32) -> Result<u32> {
    // Rejection sampling: drop the top sliver of u32 that would bias the result.
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut buf = [0u8; 4];
        fill(&mut buf)?;
        let value = u32::from_le_bytes(buf);
        if value < zone {
            return Ok(value % bound);
        }
    }
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_are_distinct_and_url_safe() -> Result<()> {
        let a = token_id()?;
        let b = token_id()?;
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        Ok(())
    }

    #[test]
    fn below_stays_in_range() -> Result<()> {
        for _ in 0..1000 {
            assert!(below(10)? < 10);
        }
        Ok(())
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
