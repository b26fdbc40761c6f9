//! Password hashing with Argon2id at OWASP's recommended parameters.

use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::domain::Password;
use crate::{Error, Result};

/// OWASP (2023): Argon2id, 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn params() -> Result<Params> {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(internal("argon2 params"))
}

/// Hashes a new password into a PHC string. CPU-heavy: runs off the async threads.
pub async fn hash(password: &Password) -> Result<String> {
    let secret = password.expose().to_owned();
    run_blocking(move || new_phc(secret.as_bytes())).await
}

/// Checks `password` against a stored PHC string. When there is no stored
/// hash (unknown account), checks against a dummy so that the answer takes
/// as long either way and timing does not reveal which accounts exist.
pub async fn verify(password: &Password, stored: Option<&str>) -> Result<bool> {
    let secret = password.expose().to_owned();
    let stored = stored.map(str::to_owned);
    run_blocking(move || {
        let known = stored.is_some();
        let phc = match stored {
            Some(phc) => phc,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&phc).map_err(internal("stored hash unreadable"))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(Error::internal("stored hash has no salt or output"));
        };
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(internal("stored hash"))?;
        let version = parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from)
            .map_err(internal("stored hash version"))?;
        let params = Params::try_from(&parsed).map_err(internal("stored hash params"))?;
        let computed = compute(
            algorithm,
            version,
            params,
            secret.as_bytes(),
            salt,
            expected.len(),
        )?;
        // `Output`'s equality is constant-time.
        Ok(computed == expected && known)
    })
    .await
}

/// Runs Argon2 in a working-memory buffer borrowed from a pool. Without the
/// pool every hash allocates 19 MiB afresh on whichever blocking thread runs
/// it, and the allocator keeps a copy per thread arena: a long-running local
/// server grew to hundreds of MiB. With it, memory stays at one buffer per
/// core (the most hashes that run at once, see `hashing_permits`).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
) -> Result<Output> {
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(internal("salt"))?;
    let mut blocks = take_buffer(params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    let output = Output::init_with(output_len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut blocks)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(internal("argon2 hash"));
    give_back(blocks);
    output
}

fn buffer_pool() -> &'static Mutex<Vec<Vec<Block>>> {
    static POOL: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(Vec::new()))
}

fn take_buffer(block_count: usize) -> Vec<Block> {
    let pooled = buffer_pool()
        .lock()
        .ok()
        .and_then(|mut pool| pool.pop())
        .filter(|blocks| blocks.len() == block_count);
    pooled.unwrap_or_else(|| vec![Block::default(); block_count])
}

/// Keeps only buffers of the current parameters' size, so a stored hash made
/// with other parameters does not grow the pool.
fn give_back(blocks: Vec<Block>) {
    let standard = params().map_or(0, |p| p.block_count());
    if blocks.len() == standard {
        if let Ok(mut pool) = buffer_pool().lock() {
            pool.push(blocks);
        }
    }
}

fn internal<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::internal(format!("{context}: {e}"))
}

/// Hashes `secret` with a fresh salt at the current parameters into a PHC string.
fn new_phc(secret: &[u8]) -> Result<String> {
    let salt = new_salt()?;
    let params = params()?;
    let output = compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        secret,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal("argon2 params"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn dummy_hash() -> Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let hashed = new_phc(b"dummy password for timing")?;
    Ok(DUMMY.get_or_init(|| hashed))
}

fn new_salt() -> Result<SaltString> {
    let mut bytes = [0u8; 16];
    super::random::fill(&mut bytes)?;
    SaltString::encode_b64(&bytes).map_err(internal("salt"))
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
        .map_err(|e| Error::internal(format!("hashing permits closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
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
        let wrong = Password::parse_login("wrong horse battery").ok_or(Error::internal("len"))?;
        assert!(!verify(&wrong, Some(&stored)).await?);
        assert!(!verify(&pw, None).await?, "unknown accounts never verify");
        Ok(())
    }

    /// Hashes stored by the `argon2` crate's own hasher (and by any other
    /// PHC-compliant Argon2 library) keep working, and ours verify there.
    #[tokio::test]
    async fn compatible_with_the_standard_phc_hasher() -> Result<()> {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let pw = Password::parse_new("tr0ub4dor and 3", None, None).map_err(Error::BadRequest)?;
        let salt = new_salt()?;
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params()?);
        let theirs = standard
            .hash_password(pw.expose().as_bytes(), &salt)
            .map_err(internal("hash"))?
            .to_string();
        assert!(verify(&pw, Some(&theirs)).await?);

        let ours = hash(&pw).await?;
        let parsed = PasswordHash::new(&ours).map_err(internal("parse"))?;
        assert!(standard
            .verify_password(pw.expose().as_bytes(), &parsed)
            .is_ok());

        // Older, cheaper parameters still verify (and do not enter the pool).
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).map_err(internal("params"))?,
        )
        .hash_password(pw.expose().as_bytes(), &salt)
        .map_err(internal("hash"))?
        .to_string();
        assert!(verify(&pw, Some(&old)).await?);
        let wrong = Password::parse_login("tr0ub4dor and 4").ok_or(Error::internal("len"))?;
        assert!(!verify(&wrong, Some(&old)).await?);
        Ok(())
    }

    /// Concurrent hashing reuses working memory: the pool never holds more
    /// buffers than hashes may run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn working_memory_is_reused() -> Result<()> {
        let hashes: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(async {
                    let pw = Password::parse_new("correct horse battery", None, None)
                        .map_err(Error::BadRequest)?;
                    hash(&pw).await
                })
            })
            .collect();
        for handle in hashes {
            handle.await.map_err(internal("join"))??;
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let pooled = buffer_pool().lock().map(|p| p.len()).unwrap_or(usize::MAX);
        assert!(
            (1..=cores).contains(&pooled),
            "{pooled} buffers kept for {cores} cores"
        );
        Ok(())
    }
}
