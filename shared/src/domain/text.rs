//! Text values a client sends, each parsed once at the boundary.
//!
//! `parse` returns the message to show the client on failure; the caller
//! decides which request field it belongs to.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Characters that change how text around them looks without showing
/// themselves: bidirectional controls (which can make a name read
/// backwards), zero-width characters and fillers that render as nothing.
/// Names must not hide behind them, nor be made of them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Whether `c` may stand next to a zero-width joiner in an emoji sequence
/// (👨‍👩‍👧): pictographs, symbols and the emoji variation selector.
fn joins_emoji(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}' | '\u{FE0F}')
}

/// The first invisible character of `text` that is not a joiner inside an
/// emoji sequence.
fn hidden_character(text: &str) -> Option<char> {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        let joined_emoji = c == '\u{200D}'
            && i > 0
            && chars.get(i + 1).is_some_and(|&next| joins_emoji(next))
            && joins_emoji(chars[i - 1]);
        (is_invisible(c) && !joined_emoji).then_some(c)
    })
}

/// The refusal of a name with a hidden character.
fn hidden_refusal(c: char) -> String {
    format!(
        "Invisible and direction-changing characters (U+{:04X}) are not allowed.",
        u32::from(c)
    )
}

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
            && local.chars().all(|c| {
                !c.is_whitespace()
                    && !c.is_control()
                    && !is_invisible(c)
                    && !"<>()[],;:\\\"".contains(c)
            });
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

/// A username: letters, digits and `@.+-_`, as Django allows, in Unicode's
/// NFKC form, so that compatibility lookalikes (fullwidth `ａｌｉｃｅ`,
/// ligatures, circled letters) are the plain name. Uniqueness is
/// case-insensitive (see [`Username::key`]) so that `Alice` cannot
/// impersonate `alice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses a username as typed (NFKC-normalised), keeping its
    /// capitalisation for display.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalised: String = raw.trim().nfkc().collect();
        let value = normalised.as_str();
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

    /// The key under which uniqueness is enforced: NFKC, lower-cased (and
    /// NFKC again, as lower-casing can leave a compatibility form).
    pub fn key(&self) -> String {
        let lower: String = self.0.nfkc().collect::<String>().to_lowercase();
        lower.nfkc().collect()
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
        if let Some(c) = hidden_character(value) {
            return Err(hidden_refusal(c));
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

/// An emoji of the Unicode list, as a reaction: stored in its fully
/// qualified form, so that "❤" and "❤️" are the same reaction. Skin tones
/// are distinct emojis.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    /// Accepts exactly one emoji of the Unicode list.
    pub fn parse(raw: &str) -> Result<Self, String> {
        emojis::get(raw)
            .map(|e| Self(e.as_str().to_owned()))
            .ok_or_else(|| "Not an emoji (one emoji of the Unicode list).".to_owned())
    }

    /// Wraps an emoji read from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The emoji.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a message: not blank, at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    /// Accepts the text as sent (whitespace inside is kept), unless nothing
    /// of it would show: blank, or only invisible characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
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
        if let Some(c) = hidden_character(value) {
            return Err(hidden_refusal(c));
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

    #[test]
    fn lookalike_usernames_are_the_same_name() {
        let fullwidth = Username::parse("ａｌｉｃｅ").map_err(|e| e.to_string());
        assert_eq!(fullwidth.as_ref().map(Username::as_str), Ok("alice"));
        let plain = Username::parse("Alice").map(|u| u.key());
        assert_eq!(fullwidth.map(|u| u.key()), plain);
        assert!(
            Username::parse("al\u{200B}ice").is_err(),
            "zero-width space"
        );
        assert!(
            Username::parse("\u{202E}ecila").is_err(),
            "right-to-left override"
        );
    }

    #[test]
    fn names_refuse_hidden_and_direction_changing_characters() {
        for raw in [
            "Team\u{202E}lanoisseforp",
            "Te\u{200B}am",
            "\u{2066}Team",
            "Team\u{FEFF}",
        ] {
            assert!(RoomName::parse(raw).is_err(), "{raw:?}");
            assert!(ProfileText::parse(raw, 100).is_err(), "{raw:?}");
        }
        let family = "Family 👨\u{200D}👩\u{200D}👧";
        assert!(
            RoomName::parse(family).is_ok(),
            "an emoji sequence joins with ZWJ"
        );
        assert!(Email::parse("ali\u{200B}ce@example.com").is_err());
    }

    #[test]
    fn a_message_must_show_something() {
        assert!(MessageBody::parse("\u{200B}\u{200B}").is_err());
        assert!(MessageBody::parse(" \u{2060}\n\u{FEFF} ").is_err());
        assert!(MessageBody::parse("hi\u{200B}").is_ok());
    }

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

    #[test]
    fn emojis_are_one_known_emoji_in_their_qualified_form() {
        assert_eq!(Emoji::parse("👍").map(|e| e.0), Ok("👍".to_owned()));
        assert_eq!(Emoji::parse("\u{2764}"), Emoji::parse("\u{2764}\u{FE0F}"));
        assert!(Emoji::parse("👍🏽").is_ok_and(|e| Emoji::parse("👍").is_ok_and(|plain| plain != e)));
        assert!(Emoji::parse("👨\u{200D}👩\u{200D}👧").is_ok());
        for bad in ["", "a", ":+1:", "👍👍", "👍 ", "\u{200D}", "x👍"] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
