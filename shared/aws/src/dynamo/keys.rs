//! Every key of the table, in one place; the README's table documents the
//! same layout, row for row.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | user | `USER#<id>` | `PROFILE` |
//! | e-mail / username claim | `EMAIL#<email>` / `USERNAME#<lower>` | `EMAIL` / `USERNAME` |
//! | OTP | `OTP#<email>` | `OTP` |
//! | refresh token / revoked family | `REFRESH#<jti>` / `FAMILY#<id>` | `REFRESH` / `FAMILY` |
//! | rate-limit window | `RATE#<key>#<start>` | `RATE` |
//! | room | `ROOM#<id>` | `META` |
//! | direct pair | `DIRECT#<a>#<b>` | `DIRECT` |
//! | member (`gsi1`: `USER#<user>` / `ROOM#<id>`) | `ROOM#<id>` | `MEMBER#<user>` |
//! | message | `ROOM#<id>` | `SEQ#<seq, 20 digits>` |
//! | message id → seq | `ROOM#<id>` | `MSG#<id>` |
//! | a message's latest change → its seq | `ROOM#<id>` | `CHG#<change, 20 digits>` |
//! | client-id claim | `ROOM#<id>` | `CLIENT#<user>#<client id>` |
//! | watermarks | `ROOM#<id>` | `RECEIPTS` |
//! | connection | `CONN#<id>` | `CONN` |
//! | a user's live connections | `USER#<id>` | `CONNS` |
//! | block, both ways | `USER#<blocker>` / `USER#<blocked>` | `BLOCK#<blocked>` / `BLOCKED_BY#<blocker>` |

use chat_core::domain::{Email, MessageId, RoomId, UserId};

/// Sort key of a user's profile.
pub const PROFILE: &str = "PROFILE";
/// Sort key of an e-mail claim.
pub const EMAIL: &str = "EMAIL";
/// Sort key of a username claim.
pub const USERNAME: &str = "USERNAME";
/// Sort key of an OTP.
pub const OTP: &str = "OTP";
/// Sort key of a refresh token.
pub const REFRESH: &str = "REFRESH";
/// Sort key of a revoked token family.
pub const FAMILY: &str = "FAMILY";
/// Sort key of a rate-limit window.
pub const RATE: &str = "RATE";
/// Sort key of a room's own item.
pub const META: &str = "META";
/// Sort key of a direct pair's claim.
pub const DIRECT: &str = "DIRECT";
/// Sort key of a room's watermarks.
pub const RECEIPTS: &str = "RECEIPTS";
/// Sort key of a connection.
pub const CONN: &str = "CONN";
/// Sort key of the per-user item listing a user's connections, so that
/// fan-out reads one item per member (in batches) instead of querying.
pub const CONNS: &str = "CONNS";
/// Prefix of the sort keys of a room's messages, which sort by `seq`.
pub const SEQ_PREFIX: &str = "SEQ#";
/// Sort key above every message's.
pub const SEQ_END: &str = "SEQ#~";
/// Prefix of the sort keys of a room's change pointers.
pub const CHANGE_PREFIX: &str = "CHG#";
/// Sort key above every change pointer's.
pub const CHANGE_END: &str = "CHG#~";
/// Prefix of the sort keys of a room's members.
pub const MEMBER_PREFIX: &str = "MEMBER#";

/// A user's profile (and their connection list).
pub fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}

/// The claim that makes an address unique.
pub fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

/// The claim that makes a username unique (`key`: the lower-cased name).
pub fn username_pk(key: &str) -> String {
    format!("USERNAME#{key}")
}

/// The code mailed to an address.
pub fn otp_pk(email: &Email) -> String {
    format!("OTP#{}", email.as_str())
}

/// A refresh token.
pub fn refresh_pk(jti: &str) -> String {
    format!("REFRESH#{jti}")
}

/// A revoked token family.
pub fn family_pk(family: &str) -> String {
    format!("FAMILY#{family}")
}

/// One window of a rate limit.
pub fn rate_pk(key: &str, window_start_secs: i64) -> String {
    format!("RATE#{key}#{window_start_secs}")
}

/// A room and everything in it.
pub fn room_pk(id: &RoomId) -> String {
    format!("ROOM#{id}")
}

/// The claim that gives a pair of users one direct room (`pair`: the two
/// ids in order, joined by `#`).
pub fn direct_pk(pair: &str) -> String {
    format!("DIRECT#{pair}")
}

/// Prefix of the sort keys of a user's blocks, both ways.
pub const BLOCKS_PREFIX: &str = "BLOCK";
/// Prefix of the sort keys of the users one blocks.
pub const BLOCKING_PREFIX: &str = "BLOCK#";
/// Prefix of the sort keys of the users who block one.
pub const BLOCKED_BY_PREFIX: &str = "BLOCKED_BY#";

/// `blocked`, under their blocker's key.
pub fn blocking_sk(blocked: &UserId) -> String {
    format!("{BLOCKING_PREFIX}{blocked}")
}

/// `blocker`, under the key of the user they block.
pub fn blocked_by_sk(blocker: &UserId) -> String {
    format!("{BLOCKED_BY_PREFIX}{blocker}")
}

/// A membership in a room.
pub fn member_sk(user: &UserId) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

/// A message in a room, at its `seq` (zero-padded, so that keys sort as numbers).
pub fn seq_sk(seq: u64) -> String {
    format!("{SEQ_PREFIX}{seq:020}")
}

/// The pointer from a room's change number to the message it changed.
pub fn change_sk(change: u64) -> String {
    format!("{CHANGE_PREFIX}{change:020}")
}

/// The pointer from a message's id to its `seq`.
pub fn message_sk(id: &MessageId) -> String {
    format!("MSG#{id}")
}

/// The claim of a sender's client id in a room.
pub fn client_sk(sender: &UserId, client_id: &str) -> String {
    format!("CLIENT#{sender}#{client_id}")
}

/// A WebSocket connection.
pub fn conn_pk(id: &str) -> String {
    format!("CONN#{id}")
}
