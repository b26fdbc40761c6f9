//! Opaque identifiers.

use serde::{Deserialize, Serialize};

/// Longest id accepted from a client; generated ids are 26 characters.
const MAX_ID_LEN: usize = 64;

fn is_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_ID_LEN
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
        pub struct $name(String);

        impl $name {
            /// Accepts a client-supplied id if it has the shape of an id
            /// (1-64 characters of `[A-Za-z0-9_-]`); existence is checked elsewhere.
            pub fn parse(raw: &str) -> Option<Self> {
                is_id(raw).then(|| Self(raw.to_owned()))
            }

            /// Wraps an id produced by the id generator or read from storage.
            pub fn from_trusted(raw: String) -> Self {
                Self(raw)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// Identifies a user.
    UserId
);
opaque_id!(
    /// Identifies a room (direct or group).
    RoomId
);
opaque_id!(
    /// Identifies a message.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_generated_shapes_and_refuse_others() {
        assert!(UserId::parse("01JD5Z8K3V7Q2W9X4Y6Z8A0B1C").is_some());
        assert!(UserId::parse("").is_none());
        assert!(UserId::parse("../etc").is_none());
        assert!(UserId::parse(&"a".repeat(65)).is_none());
        assert!(RoomId::parse("room_1-x").is_some());
    }
}
