//! Settings read once from the environment, at cold start.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `JWT_SECRET` | required (32+ bytes) | signs tokens, keys OTP hashes |
//! | `ACCESS_TOKEN_TTL_SECS` | 3600 | access token lifetime |
//! | `REFRESH_TOKEN_TTL_SECS` | 604800 | refresh token lifetime |
//! | `REFRESH_GRACE_SECS` | 10 | how long the same client may present a just-rotated refresh token again (two tabs) |
//! | `OTP_TTL_SECS` | 600 | e-mail code lifetime |
//! | `OTP_MAX_ATTEMPTS` | 5 | wrong tries before a code is dead |
//! | `OTP_RESEND_INTERVAL_SECS` | 60 | at most one code per address per interval |
//! | `OTP_MAX_PER_HOUR` | 5 | codes per address and client per hour |
//! | `LOGIN_MAX_FAILURES` | 10 | failed logins per address and client per 15 minutes |
//! | `MAX_PICTURE_BYTES` | 2097152 | largest profile picture |
//! | `MAX_GROUP_MEMBERS` | 256 | largest group room |
//! | `MAX_SOCKETS_PER_USER` | 20 | WebSocket connections one user may hold open at once (at most 1,000) |
//! | `SEND_MAX_PER_MINUTE` | 300 | messages one user may send to one room per minute (REST and WebSocket) |
//! | `MAX_ATTACHMENT_BYTES` | 10485760 | largest file attached to a message (at most 5 GiB, S3's largest single upload) |
//! | `MAX_UPLOADS_PER_MINUTE` | 30 | upload slots one user may open per minute, all rooms together |
//! | `ATTACHMENT_TYPES` | `image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain` | media types a message may carry (images are checked by their bytes) |
//! | `MAIL_FROM` | `Chat <no-reply@example.com>` | sender of OTP mail |

use std::str::FromStr;

/// Shortest accepted signing secret (HS256 wants at least 256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Tunable limits and lifetimes of the product.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Access token lifetime in seconds.
    pub access_ttl_secs: i64,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// Seconds after a refresh during which the same client presenting the
    /// same refresh token again (two tabs refreshing at once) gets the same
    /// successor instead of ending the session.
    pub refresh_grace_secs: i64,
    /// OTP lifetime in seconds.
    pub otp_ttl_secs: i64,
    /// Wrong OTP tries before the code is dead.
    pub otp_max_attempts: u32,
    /// Minimum seconds between two codes for one address.
    pub otp_resend_interval_secs: u64,
    /// Codes per address and client per hour.
    pub otp_max_per_hour: u32,
    /// Failed logins per address and client per 15 minutes before that client is refused.
    pub login_max_failures: u32,
    /// Largest profile picture in bytes.
    pub max_picture_bytes: usize,
    /// Largest group room.
    pub max_group_members: usize,
    /// WebSocket connections one user may hold at once.
    pub max_sockets_per_user: usize,
    /// Messages one user may send to one room per minute.
    pub send_max_per_minute: u32,
    /// Largest file attached to a message, in bytes.
    pub max_attachment_bytes: u64,
    /// Media types a message may carry.
    pub attachment_types: Vec<String>,
    /// Upload slots one user may open per minute, all rooms together.
    pub max_uploads_per_minute: u32,
    /// Sender address of OTP mail.
    pub mail_from: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_ttl_secs: 3600,
            refresh_ttl_secs: 7 * 24 * 3600,
            refresh_grace_secs: 10,
            otp_ttl_secs: 600,
            otp_max_attempts: 5,
            otp_resend_interval_secs: 60,
            otp_max_per_hour: 5,
            login_max_failures: 10,
            max_picture_bytes: 2 * 1024 * 1024,
            max_group_members: 256,
            max_sockets_per_user: 20,
            send_max_per_minute: 300,
            max_attachment_bytes: 10 * 1024 * 1024,
            attachment_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ]
            .map(str::to_owned)
            .to_vec(),
            max_uploads_per_minute: 30,
            mail_from: "Chat <no-reply@example.com>".into(),
        }
    }
}

/// The signing secret; its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Wraps a secret, refusing one shorter than [`MIN_SECRET_LEN`].
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < MIN_SECRET_LEN {
            return Err(format!("must be at least {MIN_SECRET_LEN} bytes"));
        }
        Ok(Self(bytes))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

/// Everything a function needs from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signs tokens and keys OTP hashes.
    pub jwt_secret: Secret,
    /// Limits and lifetimes.
    pub settings: Settings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so that tests need no process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw_secret = lookup("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?;
        let jwt_secret =
            Secret::new(raw_secret.into_bytes()).map_err(|reason| ConfigError::Invalid {
                name: "JWT_SECRET",
                reason,
            })?;
        Ok(Self {
            jwt_secret,
            settings: settings_from(&lookup)?,
        })
    }
}

/// Reads every [`Settings`] field, keeping the default where a variable is unset.
pub fn settings_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let d = Settings::default();
    Ok(Settings {
        access_ttl_secs: number(lookup, "ACCESS_TOKEN_TTL_SECS", d.access_ttl_secs)?,
        refresh_ttl_secs: number(lookup, "REFRESH_TOKEN_TTL_SECS", d.refresh_ttl_secs)?,
        refresh_grace_secs: number(lookup, "REFRESH_GRACE_SECS", d.refresh_grace_secs)?,
        otp_ttl_secs: number(lookup, "OTP_TTL_SECS", d.otp_ttl_secs)?,
        otp_max_attempts: number(lookup, "OTP_MAX_ATTEMPTS", d.otp_max_attempts)?,
        otp_resend_interval_secs: number(
            lookup,
            "OTP_RESEND_INTERVAL_SECS",
            d.otp_resend_interval_secs,
        )?,
        otp_max_per_hour: number(lookup, "OTP_MAX_PER_HOUR", d.otp_max_per_hour)?,
        login_max_failures: number(lookup, "LOGIN_MAX_FAILURES", d.login_max_failures)?,
        max_picture_bytes: number(lookup, "MAX_PICTURE_BYTES", d.max_picture_bytes)?,
        max_group_members: number(lookup, "MAX_GROUP_MEMBERS", d.max_group_members)?,
        max_sockets_per_user: at_most(
            "MAX_SOCKETS_PER_USER",
            number(lookup, "MAX_SOCKETS_PER_USER", d.max_sockets_per_user)?,
            MAX_SOCKETS_PER_USER_CEILING,
        )?,
        send_max_per_minute: number(lookup, "SEND_MAX_PER_MINUTE", d.send_max_per_minute)?,
        max_attachment_bytes: at_most(
            "MAX_ATTACHMENT_BYTES",
            number(lookup, "MAX_ATTACHMENT_BYTES", d.max_attachment_bytes)?,
            MAX_ATTACHMENT_BYTES_CEILING,
        )?,
        max_uploads_per_minute: number(lookup, "MAX_UPLOADS_PER_MINUTE", d.max_uploads_per_minute)?,
        attachment_types: match lookup("ATTACHMENT_TYPES") {
            Some(raw) => media_types(&raw)?,
            None => d.attachment_types,
        },
        mail_from: lookup("MAIL_FROM").unwrap_or(d.mail_from),
    })
}

/// The most `MAX_ATTACHMENT_BYTES` may be: S3's largest single upload.
pub const MAX_ATTACHMENT_BYTES_CEILING: u64 = 5 * 1024 * 1024 * 1024;

/// A comma-separated list of media types (`type/subtype`, lower case).
fn media_types(raw: &str) -> Result<Vec<String>, ConfigError> {
    let types: Vec<String> = raw
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let valid = |t: &String| {
        let mut parts = t.split('/');
        matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
            if !a.is_empty() && !b.is_empty()
                && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"/.+-".contains(&c)))
    };
    if types.is_empty() || !types.iter().all(valid) {
        return Err(ConfigError::Invalid {
            name: "ATTACHMENT_TYPES",
            reason: "must be a comma-separated list of media types such as image/png".into(),
        });
    }
    Ok(types)
}

/// The most `MAX_SOCKETS_PER_USER` may be: DynamoDB lists a user's sockets
/// in one item (so that a room's members are found in one read), which
/// stays far below the 400 KB item limit at this many.
pub const MAX_SOCKETS_PER_USER_CEILING: usize = 1_000;

fn at_most<T: PartialOrd + std::fmt::Display>(
    name: &'static str,
    value: T,
    ceiling: T,
) -> Result<T, ConfigError> {
    if value > ceiling {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("must be at most {ceiling}"),
        });
    }
    Ok(value)
}

fn number<T: FromStr + PartialOrd + Default>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name) {
        None => Ok(default),
        Some(raw) => {
            let value: T = raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                })?;
            if value <= T::default() {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must be greater than zero".into(),
                });
            }
            Ok(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn names_the_missing_or_bad_variable() {
        let err = Config::from_lookup(lookup(&[]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("environment variable JWT_SECRET is required but not set")
        );
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", "short")]))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("JWT_SECRET") && e.contains("32 bytes")));
        let secret = "s".repeat(32);
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", &secret), ("OTP_TTL_SECS", "ten")]))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("OTP_TTL_SECS")));
        let err = Config::from_lookup(lookup(&[
            ("JWT_SECRET", &secret),
            ("MAX_SOCKETS_PER_USER", "1001"),
        ]))
        .err()
        .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("MAX_SOCKETS_PER_USER") && e.contains("1000")));
    }

    #[test]
    fn defaults_and_overrides() -> Result<(), ConfigError> {
        let secret = "s".repeat(32);
        let cfg = Config::from_lookup(lookup(&[
            ("JWT_SECRET", &secret),
            ("ACCESS_TOKEN_TTL_SECS", "60"),
        ]))?;
        assert_eq!(cfg.settings.access_ttl_secs, 60);
        assert_eq!(cfg.settings.otp_ttl_secs, 600);
        assert_eq!(format!("{:?}", cfg.jwt_secret), "Secret(***)");
        Ok(())
    }
}
