//! Points in time, as milliseconds since the Unix epoch.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant with millisecond precision. Serialises as RFC 3339
/// (`2026-11-26T20:15:35.123Z`), the shape the seed's clients parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (the unit of JWT claims and DynamoDB TTL).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved forward by `secs` seconds.
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0 + secs * 1000)
    }

    /// RFC 3339 in UTC with milliseconds and a `Z` suffix.
    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// Reads what [`Timestamp`]'s `Serialize` writes (RFC 3339), for data the
/// process saved itself, such as the local gateway's snapshot.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Self(t.timestamp_millis()))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_rfc3339_utc_with_millis() {
        assert_eq!(
            Timestamp::from_millis(1_764_188_135_123).to_rfc3339(),
            "2025-11-26T20:15:35.123Z"
        );
        assert_eq!(Timestamp::from_millis(1_500).secs(), 1);
        assert_eq!(Timestamp::from_millis(0).plus_secs(2).millis(), 2000);
    }

    #[test]
    fn reads_back_what_it_writes() -> Result<(), serde_json::Error> {
        let t = Timestamp::from_millis(1_764_188_135_123);
        let back: Timestamp = serde_json::from_str(&serde_json::to_string(&t)?)?;
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        Ok(())
    }
}
