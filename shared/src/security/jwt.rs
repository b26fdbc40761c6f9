//! JSON Web Tokens: short-lived access tokens and rotating refresh tokens (HS256).
//!
//! Expiry is checked against the injected clock rather than the system time,
//! so that tests can move time forward.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Timestamp, UserId};
use crate::{Error, Result};

/// Which kind of token a JWT is; an access token is never accepted as a refresh
/// token and vice versa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Authenticates API calls and WebSocket connections.
    Access,
    /// Obtains a new pair of tokens, once.
    Refresh,
}

/// The claims this backend puts in its tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Access or refresh.
    pub token_type: TokenType,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The login session (refresh-token family) the token belongs to. Access
    /// tokens carry it too, so that ending the session closes the sockets
    /// opened with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    /// The user the token was issued to.
    pub fn user_id(&self) -> Result<UserId> {
        UserId::parse(&self.sub).ok_or_else(token_not_valid)
    }
}

/// The error every unusable token gets, in Simple JWT's words.
pub fn token_not_valid() -> Error {
    Error::Unauthorized {
        detail: "Given token not valid for any token type".into(),
        code: "token_not_valid",
    }
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

impl JwtKeys {
    /// Keys from the signing secret (at least 32 bytes; checked by the config).
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock in `verify`.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_owned(), "sub".to_owned()].into();
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::internal(format!("jwt sign: {e}")))
    }

    /// Checks the signature, the type and the expiry at `now`.
    pub fn verify(&self, token: &str, expected: TokenType, now: Timestamp) -> Result<Claims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| token_not_valid())?
            .claims;
        if claims.token_type != expected || claims.exp <= now.secs() {
            return Err(token_not_valid());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token_type: TokenType, exp: i64) -> Claims {
        Claims {
            sub: "user1".into(),
            token_type,
            exp,
            iat: 0,
            jti: "j".into(),
            fam: None,
        }
    }

    #[test]
    fn verifies_type_signature_and_expiry() -> Result<()> {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = Timestamp::from_millis(1_000_000);
        let access = keys.sign(&claims(TokenType::Access, now.secs() + 3600))?;
        assert_eq!(keys.verify(&access, TokenType::Access, now)?.sub, "user1");
        assert!(keys.verify(&access, TokenType::Refresh, now).is_err());
        assert!(keys
            .verify(&access, TokenType::Access, now.plus_secs(3600))
            .is_err());
        let other = JwtKeys::new(b"another secret of thirty-two bytes!!");
        assert!(other.verify(&access, TokenType::Access, now).is_err());
        assert!(keys.verify("not.a.jwt", TokenType::Access, now).is_err());
        Ok(())
    }
}
