//! Password hashing with Argon2id at OWASP's recommended parameters.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;
use crate::{Error, Result};

/// OWASP (2023): Argon2id, 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|e| Error::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password into a PHC string. CPU-heavy: runs off the async threads.
pub async fn hash(password: &Password) -> Result<String> {
    let secret = password.expose().to_owned();
    run_blocking(move || {
        let salt = new_salt()?;
        argon2()?
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))
    })
    .await
}

/// Checks `password` against a stored PHC string. When there is no stored
/// hash (unknown account), checks against a dummy so that the answer takes
/// as long either way and timing does not reveal which accounts exist.
pub async fn verify(password: &Password, stored: Option<&str>) -> Result<bool> {
    let secret = password.expose().to_owned();
    let known = stored.is_some();
    let phc = match stored {
        Some(phc) => phc.to_owned(),
        None => dummy_hash()?.to_owned(),
    };
    run_blocking(move || {
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| Error::Internal(format!("stored hash unreadable: {e}")))?;
        let ok = argon2()?
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
}

fn dummy_hash() -> Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let salt = new_salt()?;
    let hashed = argon2()?
        .hash_password(b"dummy password for timing", &salt)
        .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))?
        .to_string();
    Ok(DUMMY.get_or_init(|| hashed))
}

fn new_salt() -> Result<SaltString> {
    let mut bytes = [0u8; 16];
    super::random::fill(&mut bytes)?;
    SaltString::encode_b64(&bytes).map_err(|e| Error::Internal(format!("salt: {e}")))
}

/// At most one hash per core at a time: each takes 19 MiB and a core's worth
/// of work, so a burst of logins queues instead of exhausting memory.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    })
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| Error::Internal(format!("hashing permits closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_contain_the_password() -> Result<()> {
        let pw =
            Password::parse_new("correct horse battery", None, None).map_err(Error::BadRequest)?;
        let stored = hash(&pw).await?;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!stored.contains("correct horse"));
        assert!(verify(&pw, Some(&stored)).await?);
        let wrong =
            Password::parse_login("wrong horse battery").ok_or(Error::Internal("len".into()))?;
        assert!(!verify(&wrong, Some(&stored)).await?);
        assert!(!verify(&pw, None).await?, "unknown accounts never verify");
        Ok(())
    }
}
