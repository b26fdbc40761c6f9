//! Settings of the local run, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND_ADDR` | `127.0.0.1` | interface to listen on |
//! | `PORT` | `8000` | port (`0` picks a free one) |
//! | `PUBLIC_BASE_URL` | `http://127.0.0.1:<port>` | origin used in picture URLs |
//! | `MANAGEMENT_PORT` | unset | serve the `@connections` API on `127.0.0.1:<port>` only, not on the public port; when `BIND_ADDR` is not a loopback address it is always apart (on a free port when unset) |
//! | `CORS_ALLOWED_ORIGINS` | `*` | comma-separated origins, or `*` |
//! | `JWT_SECRET` | random per run (kept in `DATA_DIR` if set) | token signing secret (32+ bytes) |
//! | `DATA_DIR` | unset | keeps the embedded state across restarts ([`crate::data_dir`]) |
//! | `WS_IDLE_TIMEOUT_SECS` | `600` | a socket with no frame either way for this long is closed (API Gateway: 10 minutes) |
//! | `WS_MAX_CONNECTION_SECS` | `7200` | a socket is closed this long after it opened (API Gateway: 2 hours) |
//! | `WS_QUEUE_FRAMES` | `4096` | frames that may wait for a socket whose client reads slowly; past it the socket is closed (1013) |
//! | `WS_QUEUE_BYTES` | `4194304` | the same in bytes (4 MiB) |
//! | `HTTP_HEADER_TIMEOUT_SECS` | `10` | a connection must send a request's headers this soon after opening or after its previous request |
//! | `MAX_CONNECTIONS` | the file-descriptor limit (raised to its hard limit) less 64 | connections open at once; at the cap the oldest one that sent nothing is closed |
//!
//! plus every setting of [`chat_core::config`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chat_core::config::{settings_from, Config, ConfigError, Secret};
use chat_core::security::random;
use http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::websocket::SocketLimits;
use crate::ConnectionLimits;
use chat_core::adapters::QueueLimits;

/// The local gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Origin put in front of picture URLs; `None` derives it from the bound address.
    pub public_base_url: Option<String>,
    /// Where the `@connections` API listens apart from the public port (on
    /// 127.0.0.1); `None` serves it on the public port, which only a
    /// loopback `bind` allows.
    pub management_port: Option<u16>,
    /// Allowed CORS origins; empty means any.
    pub cors_origins: Vec<String>,
    /// The product's configuration.
    pub core: Config,
    /// True when no `JWT_SECRET` was given and a random one is used.
    pub ephemeral_secret: bool,
    /// When WebSockets are closed.
    pub socket_limits: SocketLimits,
    /// How far a socket may fall behind.
    pub queue_limits: QueueLimits,
    /// Header timeout and connection cap.
    pub connection_limits: ConnectionLimits,
}

impl GatewayConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ip: IpAddr = match lookup("BIND_ADDR") {
            Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                name: "BIND_ADDR",
                reason: format!("{raw:?} is not an IP address"),
            })?,
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let port: u16 = match lookup("PORT") {
            Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                name: "PORT",
                reason: format!("{raw:?} is not a port number"),
            })?,
            None => 8000,
        };
        let (jwt_secret, ephemeral_secret) = match lookup("JWT_SECRET") {
            Some(raw) => (
                Secret::new(raw.into_bytes()).map_err(|reason| ConfigError::Invalid {
                    name: "JWT_SECRET",
                    reason,
                })?,
                false,
            ),
            None => (random_secret()?, true),
        };
        let cors_origins = lookup("CORS_ALLOWED_ORIGINS")
            .unwrap_or_else(|| "*".into())
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty() && *o != "*")
            .map(str::to_owned)
            .collect();
        let defaults = SocketLimits::default();
        let socket_limits = SocketLimits {
            idle_timeout: seconds(&lookup, "WS_IDLE_TIMEOUT_SECS", defaults.idle_timeout)?,
            max_duration: seconds(&lookup, "WS_MAX_CONNECTION_SECS", defaults.max_duration)?,
        };
        let queue_defaults = QueueLimits::default();
        let queue_limits = QueueLimits {
            frames: count(&lookup, "WS_QUEUE_FRAMES", queue_defaults.frames)?,
            bytes: count(&lookup, "WS_QUEUE_BYTES", queue_defaults.bytes)?,
        };
        let fd_limits = ConnectionLimits::from_fd_limit();
        let connection_limits = ConnectionLimits {
            header_timeout: seconds(
                &lookup,
                "HTTP_HEADER_TIMEOUT_SECS",
                fd_limits.header_timeout,
            )?,
            max_connections: count(&lookup, "MAX_CONNECTIONS", fd_limits.max_connections)?,
        };
        let management_port = match lookup("MANAGEMENT_PORT") {
            Some(raw) => Some(raw.parse().map_err(|_| ConfigError::Invalid {
                name: "MANAGEMENT_PORT",
                reason: format!("{raw:?} is not a port number"),
            })?),
            // Never on a public port: a free loopback port of its own.
            None if !ip.is_loopback() => Some(0),
            None => None,
        };
        Ok(Self {
            bind: SocketAddr::new(ip, port),
            public_base_url: lookup("PUBLIC_BASE_URL"),
            management_port,
            cors_origins,
            core: Config {
                jwt_secret,
                settings: settings_from(&lookup)?,
            },
            ephemeral_secret,
            socket_limits,
            queue_limits,
            connection_limits,
        })
    }

    /// The CORS policy: the configured origins (or any), the API's methods,
    /// and the headers clients send.
    pub fn cors(&self) -> CorsLayer {
        let origins = if self.cors_origins.is_empty() {
            AllowOrigin::from(Any)
        } else {
            AllowOrigin::list(
                self.cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(3600))
    }
}

/// A positive count, or `default` when unset.
fn count(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("{raw:?} is not a positive number"),
            }),
        },
    }
}

/// A positive number of seconds, or `default` when unset.
fn seconds(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("{raw:?} is not a positive number of seconds"),
            }),
        },
    }
}

fn random_secret() -> Result<Secret, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "JWT_SECRET",
        reason,
    };
    let mut bytes = vec![0u8; 48];
    random::fill(&mut bytes).map_err(|e| invalid(e.to_string()))?;
    Secret::new(bytes).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_local_and_safe() -> Result<(), ConfigError> {
        let cfg = GatewayConfig::from_lookup(|_| None)?;
        assert_eq!(cfg.bind.to_string(), "127.0.0.1:8000");
        assert!(cfg.ephemeral_secret);
        assert!(cfg.cors_origins.is_empty());
        assert_eq!(cfg.socket_limits.idle_timeout, Duration::from_secs(600));
        assert_eq!(cfg.socket_limits.max_duration, Duration::from_secs(7200));
        assert_eq!(cfg.queue_limits, QueueLimits::default());
        assert_eq!(cfg.management_port, None, "on the loopback port itself");
        let public = GatewayConfig::from_lookup(|k| (k == "BIND_ADDR").then(|| "0.0.0.0".into()))?;
        assert_eq!(public.management_port, Some(0), "never on a public port");
        Ok(())
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = GatewayConfig::from_lookup(|k| (k == "PORT").then(|| "eighty".into()))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("PORT")));
        for bad in ["0", "-5", "many"] {
            let err = GatewayConfig::from_lookup(|k| (k == "WS_QUEUE_FRAMES").then(|| bad.into()))
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("WS_QUEUE_FRAMES")), "{bad}");
        }
        for bad in ["0", "-5", "soon"] {
            let err =
                GatewayConfig::from_lookup(|k| (k == "WS_IDLE_TIMEOUT_SECS").then(|| bad.into()))
                    .err()
                    .map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("WS_IDLE_TIMEOUT_SECS")),
                "{bad}"
            );
        }
        let limits =
            GatewayConfig::from_lookup(|k| (k == "WS_MAX_CONNECTION_SECS").then(|| "3".into()))
                .map(|c| c.socket_limits.max_duration);
        assert_eq!(limits.ok(), Some(Duration::from_secs(3)));
        let origins = GatewayConfig::from_lookup(|k| {
            (k == "CORS_ALLOWED_ORIGINS").then(|| "http://a.test, http://b.test".into())
        })
        .map(|c| c.cors_origins);
        assert_eq!(
            origins.ok(),
            Some(vec!["http://a.test".to_owned(), "http://b.test".to_owned()])
        );
    }
}
