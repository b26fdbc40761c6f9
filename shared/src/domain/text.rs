//! Text values a client sends, each parsed once at the boundary.
//!
//! `parse` returns the message to show the client on failure; the caller
//! decides which request field it belongs to.

use serde::{Deserialize, Serialize};

/// Longest accepted e-mail address (RFC 5321 path limit).
pub(crate) const MAX_EMAIL_LEN: usize = 254;
/// Django's username limit, kept so that the seed's users fit.
pub(crate) const MAX_USERNAME_LEN: usize = 150;
pub(crate) const MIN_PASSWORD_LEN: usize = 8;
/// Caps the work a single login can cost the server.
pub(crate) const MAX_PASSWORD_LEN: usize = 128;
pub(crate) const MAX_ROOM_NAME_LEN: usize = 100;
/// Longest message body, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// The 20,000 most common passwords, lower-case, one per line: the list
/// Django's `CommonPasswordValidator` uses (`shared/data/README.md`).
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Whether `password` (compared lower-cased and trimmed, as Django does) is
/// on the common-password list. The set is built on first use, so only a
/// process that checks a new password pays for it.
fn is_common_password(password: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().collect())
        .contains(password.trim().to_lowercase().as_str())
}

/// A syntactically valid e-mail address, lower-cased so that one mailbox is
/// one account whatever the capitalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        let invalid = || "Enter a valid email address.".to_owned();
        if value.is_empty() || value.len() > MAX_EMAIL_LEN {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\\\"".contains(c));
        if labels_ok && local_ok {
            Ok(Self(value))
        } else {
            Err(invalid())
        }
    }

    /// Wraps an address read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: letters, digits and `@.+-_`, as Django allows. Uniqueness is
/// case-insensitive (see [`Username::key`]) so that `Alice` cannot impersonate `alice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses a username as typed, keeping its capitalisation for display.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if value.chars().count() > MAX_USERNAME_LEN {
            return Err(format!(
                "Ensure this field has no more than {MAX_USERNAME_LEN} characters."
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
                    .into(),
            );
        }
        Ok(Self(value.to_owned()))
    }

    /// Wraps a username read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The username as displayed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which uniqueness is enforced.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password that meets the policy. Never logged, never serialised.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks a new password against the policy: 8-128 characters, not only
    /// digits, not a common password, not the username or e-mail.
    pub fn parse_new(
        raw: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(format!(
                "This password is too short. It must contain at least {MIN_PASSWORD_LEN} characters."
            ));
        }
        if len > MAX_PASSWORD_LEN {
            return Err(format!(
                "Ensure this field has no more than {MAX_PASSWORD_LEN} characters."
            ));
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("This password is entirely numeric.".into());
        }
        let lower = raw.to_lowercase();
        if is_common_password(raw) {
            return Err("This password is too common.".into());
        }
        let similar =
            |other: Option<&str>| other.is_some_and(|o| !o.is_empty() && lower == o.to_lowercase());
        let email_local = email.and_then(|e| e.split('@').next());
        if similar(username) || similar(email) || similar(email_local) {
            return Err("The password is too similar to the username or email.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps a password presented at login; only its length is bounded.
    pub fn parse_login(raw: &str) -> Option<Self> {
        (raw.chars().count() <= MAX_PASSWORD_LEN).then(|| Self(raw.to_owned()))
    }

    /// The secret, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The name of a group room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomName(String);

impl RoomName {
    /// A trimmed, non-empty name of at most 100 characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if value.chars().count() > MAX_ROOM_NAME_LEN {
            return Err(format!(
                "Ensure this field has no more than {MAX_ROOM_NAME_LEN} characters."
            ));
        }
        if value.chars().any(char::is_control) {
            return Err("Control characters are not allowed.".into());
        }
        Ok(Self(value.to_owned()))
    }

    /// Wraps a name read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a message: not blank, at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    /// Accepts the text as sent (whitespace inside is kept).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("This field may not be blank.".into());
        }
        if raw.chars().count() > MAX_MESSAGE_CHARS {
            return Err(format!(
                "Ensure this field has no more than {MAX_MESSAGE_CHARS} characters."
            ));
        }
        if raw.contains('\0') {
            return Err("Null characters are not allowed.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps a body read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of a profile (names, bio), bounded in length; may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct ProfileText(String);

impl ProfileText {
    /// Trims and accepts text of at most `max` characters without control characters
    /// (newlines are allowed, for the bio).
    pub fn parse(raw: &str, max: usize) -> Result<Self, String> {
        let value = raw.trim();
        if value.chars().count() > max {
            return Err(format!(
                "Ensure this field has no more than {max} characters."
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err("Control characters are not allowed.".into());
        }
        Ok(Self(value.to_owned()))
    }

    /// Wraps text read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").map(|e| e.0),
            Ok("alice@example.com".into())
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "alice@example",
            "a@-x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn username_allows_django_characters_only() {
        assert!(Username::parse("alice.b+c-d_e@x").is_ok());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
        assert_eq!(
            Username::parse("Alice").map(|u| u.key()),
            Ok("alice".into())
        );
    }

    #[test]
    fn password_policy() {
        assert!(Password::parse_new("correct horse", Some("alice"), None).is_ok());
        assert!(Password::parse_new("short", None, None).is_err());
        assert!(Password::parse_new("1234567890123", None, None).is_err());
        assert!(Password::parse_new("Password123", None, None).is_err());
        // From the full list, not the 18 words of the old stand-in.
        for common in ["trustno1", "Dragon123", " superman ", "letmein!"] {
            assert_eq!(
                Password::parse_new(common, None, None).err().as_deref(),
                Some("This password is too common."),
                "{common}"
            );
        }
        assert_eq!(COMMON_PASSWORDS.lines().count(), 20_000);
        assert!(Password::parse_new("alicealice", Some("AliceAlice"), None).is_err());
        assert!(Password::parse_new("alicemail", None, Some("alicemail@example.com")).is_err());
        assert!(Password::parse_new(&"x".repeat(129), None, None).is_err());
        assert_eq!(
            format!("{:?}", Password::parse_login("secret")),
            "Some(Password(***))"
        );
    }

    #[test]
    fn message_body_limits() {
        assert!(MessageBody::parse("hi").is_ok());
        assert!(MessageBody::parse("   \n").is_err());
        assert!(MessageBody::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(MessageBody::parse(&"é".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn room_name_is_trimmed_and_bounded() {
        assert_eq!(RoomName::parse("  team ").map(|n| n.0), Ok("team".into()));
        assert!(RoomName::parse(" ").is_err());
        assert!(RoomName::parse(&"n".repeat(101)).is_err());
    }
}
