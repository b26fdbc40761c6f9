//! Every key, in one place; the README's table documents the same layout.
//!
//! Keys are `<prefix>:{<tag>}:<rest>`. The `{tag}` is the hash tag: every
//! key one script touches shares it, so the scripts run on Redis Cluster
//! too. A room's keys share their room's tag; accounts, sessions and
//! connections each share one tag (they do not spread over a cluster, which
//! chat-sized loads do not need).
//!
//! | data | key | type |
//! |---|---|---|
//! | user | `{accounts}:user:<id>` | string (JSON) |
//! | whom a user blocks / who blocks them | `{blocks}:blocking:<id>` / `{blocks}:blocked_by:<id>` | hash user → since (ms) / set |
//! | e-mail / username claim | `{accounts}:email:<email>` / `{accounts}:username:<lower>` | string (user id) |
//! | OTP | `{otp:<email>}` | string (JSON), expires with the code |
//! | refresh token | `{tokens}:refresh:<jti>` | hash (`family`, `user_id`, `expires_at`, `used`), expires with the token |
//! | revoked family | `{tokens}:family:<id>` | string (until, ms), expires then |
//! | rate-limit window | `{rate:<key>}:<start>` | counter, expires with the window |
//! | room | `{room:<id>}:meta` | string (JSON, without counts) |
//! | room counters | `{room:<id>}:counters` | hash (`member_count`, `admin_count`, `last_seq`) |
//! | room's last message | `{room:<id>}:last` | string (JSON) |
//! | members | `{room:<id>}:roles` / `{room:<id>}:joined` | hash user → role / joined (ms) |
//! | members who muted the room | `{room:<id>}:muted` | set |
//! | messages | `{room:<id>}:msgs` | hash seq → message (JSON) |
//! | message id → seq | `{room:<id>}:ids` | hash |
//! | client-id claims | `{room:<id>}:clients` | hash `<sender>#<client id>` → seq |
//! | watermarks | `{room:<id>}:receipts` | hash `d#<user>` / `r#<user>` → seq |
//! | direct pair | `{direct:<a>#<b>}` | string (room id) |
//! | a user's rooms | `{user:<id>}:rooms` | set (a superset: checked against the room's members on read) |
//! | connection | `{conns}:conn:<id>` | string (JSON), expires with the connection |
//! | a user's connections | `{conns}:user:<id>` | hash connection id → expiry (ms) |
//! | the process holding a connection | `{conns}:node:<id>` | string (process id), 2 hours |
//! | the connections a process holds | `{conns}:held:<process>` | set |
//! | a live gateway process | `{nodes}:alive:<process>` | string, 15 s, renewed every 5 s |
//! | the processes that joined | `{nodes}:all` | set |
//!
//! Each gateway process listens on the channel `<prefix>:node:<process>` and
//! on `<prefix>:messages`, where each stored message is published by the
//! script that stores it.

use chat_core::domain::{Email, RoomId, UserId};

/// Builds the keys under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (e.g. `chat`).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, tag: &str, rest: &str) -> String {
        if rest.is_empty() {
            format!("{}:{{{tag}}}", self.prefix)
        } else {
            format!("{}:{{{tag}}}:{rest}", self.prefix)
        }
    }

    /// Whom a user blocks (one tag for every block: a block writes both
    /// users' keys at once).
    pub fn blocking(&self, id: &UserId) -> String {
        self.key("blocks", &format!("blocking:{id}"))
    }

    /// Who blocks a user.
    pub fn blocked_by(&self, id: &UserId) -> String {
        self.key("blocks", &format!("blocked_by:{id}"))
    }

    /// A user.
    pub fn user(&self, id: &UserId) -> String {
        self.key("accounts", &format!("user:{id}"))
    }

    /// The claim of an address.
    pub fn email(&self, email: &Email) -> String {
        self.key("accounts", &format!("email:{}", email.as_str()))
    }

    /// The claim of a username (`key`: lower-cased).
    pub fn username(&self, key: &str) -> String {
        self.key("accounts", &format!("username:{key}"))
    }

    /// The code mailed to an address.
    pub fn otp(&self, email: &Email) -> String {
        self.key(&format!("otp:{}", email.as_str()), "")
    }

    /// A refresh token.
    pub fn refresh(&self, jti: &str) -> String {
        self.key("tokens", &format!("refresh:{jti}"))
    }

    /// A revoked token family.
    pub fn family(&self, family: &str) -> String {
        self.key("tokens", &format!("family:{family}"))
    }

    /// One window of a rate limit.
    pub fn rate(&self, key: &str, start_secs: i64) -> String {
        self.key(&format!("rate:{key}"), &start_secs.to_string())
    }

    /// One of a room's keys (`part`: `meta`, `counters`, `msgs`, …).
    pub fn room(&self, id: &RoomId, part: &str) -> String {
        self.key(&format!("room:{id}"), part)
    }

    /// The claim that gives a pair its direct room.
    pub fn direct(&self, pair: &str) -> String {
        self.key(&format!("direct:{pair}"), "")
    }

    /// The rooms a user was added to.
    pub fn user_rooms(&self, id: &UserId) -> String {
        self.key(&format!("user:{id}"), "rooms")
    }

    /// A connection.
    pub fn connection(&self, id: &str) -> String {
        self.key("conns", &format!("conn:{id}"))
    }

    /// The prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The process holding a connection.
    pub fn connection_node(&self, id: &str) -> String {
        self.key("conns", &format!("node:{id}"))
    }

    /// The connections a process holds.
    pub fn node_connections(&self, node: &str) -> String {
        self.key("conns", &format!("held:{node}"))
    }

    /// The processes that joined (alive or not yet swept).
    pub fn nodes(&self) -> String {
        self.key("nodes", "all")
    }

    /// The channel each stored message is published on.
    pub fn messages_channel(&self) -> String {
        format!("{}:messages", self.prefix)
    }

    /// The channel a gateway process listens on.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    /// The sign that a gateway process is alive.
    pub fn node_alive(&self, node: &str) -> String {
        self.key("nodes", &format!("alive:{node}"))
    }

    /// A user's connections.
    pub fn user_connections(&self, id: &UserId) -> String {
        self.key("conns", &format!("user:{id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rooms_keys_share_one_hash_tag() {
        let keys = Keys::new("chat");
        let room = RoomId::from_trusted("R1".into());
        assert_eq!(keys.room(&room, "msgs"), "chat:{room:R1}:msgs");
        assert_eq!(keys.room(&room, "meta"), "chat:{room:R1}:meta");
        assert_eq!(keys.direct("a#b"), "chat:{direct:a#b}");
        assert_eq!(
            keys.user(&UserId::from_trusted("U".into())),
            "chat:{accounts}:user:U"
        );
    }
}
