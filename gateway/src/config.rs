//! Settings of the local run, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND_ADDR` | `127.0.0.1` | interface to listen on |
//! | `PORT` | `8000` | port (`0` picks a free one) |
//! | `PUBLIC_BASE_URL` | `http://127.0.0.1:<port>` | origin used in picture URLs |
//! | `CORS_ALLOWED_ORIGINS` | `*` | comma-separated origins, or `*` |
//! | `JWT_SECRET` | random per run (kept in `DATA_DIR` if set) | token signing secret (32+ bytes) |
//! | `DATA_DIR` | unset | keeps the embedded state across restarts ([`crate::data_dir`]) |
//!
//! plus every setting of [`chat_core::config`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chat_core::config::{settings_from, Config, ConfigError, Secret};
use chat_core::security::random;
use http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// The local gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Origin put in front of picture URLs; `None` derives it from the bound address.
    pub public_base_url: Option<String>,
    /// Allowed CORS origins; empty means any.
    pub cors_origins: Vec<String>,
    /// The product's configuration.
    pub core: Config,
    /// True when no `JWT_SECRET` was given and a random one is used.
    pub ephemeral_secret: bool,
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
        Ok(Self {
            bind: SocketAddr::new(ip, port),
            public_base_url: lookup("PUBLIC_BASE_URL"),
            cors_origins,
            core: Config {
                jwt_secret,
                settings: settings_from(&lookup)?,
            },
            ephemeral_secret,
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
        Ok(())
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = GatewayConfig::from_lookup(|k| (k == "PORT").then(|| "eighty".into()))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("PORT")));
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
