//! The entities the stores keep.

use serde::{Deserialize, Serialize};

use super::{
    Email, Emoji, MessageBody, MessageId, ProfileText, RoomId, RoomName, Timestamp, UserId,
    Username,
};

/// A direct room always has exactly its two participants.
pub const DIRECT_ROOM_SIZE: u32 = 2;

/// Distinct emojis one message can carry as reactions. With a room's
/// members bounding each emoji's reactors, it bounds the message's size.
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;

/// A registered account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Opaque id.
    pub id: UserId,
    /// Unique (case-insensitively) display name.
    pub username: Username,
    /// Unique, normalised e-mail address.
    pub email: Email,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Whether the address was confirmed with a one-time code.
    pub email_verified: bool,
    /// Given name.
    pub first_name: ProfileText,
    /// Family name.
    pub last_name: ProfileText,
    /// Free text about the user.
    pub bio: ProfileText,
    /// Blob-store key of the profile picture.
    pub picture_key: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the user's last connection closed (None: never connected).
    pub last_seen: Option<Timestamp>,
    /// When the password was last changed (a reset): sessions and tokens
    /// issued before then are no longer honoured.
    #[serde(default)]
    pub password_changed_at: Option<Timestamp>,
}

/// A partial change to a profile: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// New username (must stay unique).
    pub username: Option<Username>,
    /// New given name.
    pub first_name: Option<ProfileText>,
    /// New family name.
    pub last_name: Option<ProfileText>,
    /// New bio.
    pub bio: Option<ProfileText>,
    /// New picture key.
    pub picture_key: Option<String>,
    /// New password (Argon2id PHC string): a credential change, never part
    /// of a profile edit.
    pub password_hash: Option<String>,
    /// When the password changed: tokens issued before are refused.
    pub password_changed_at: Option<Timestamp>,
}

impl ProfileUpdate {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
            && self.bio.is_none()
            && self.picture_key.is_none()
            && self.password_hash.is_none()
            && self.password_changed_at.is_none()
    }

    /// Applies the change to `user`.
    pub fn apply_to(&self, user: &mut User) {
        if let Some(v) = &self.username {
            user.username = v.clone();
        }
        if let Some(v) = &self.first_name {
            user.first_name = v.clone();
        }
        if let Some(v) = &self.last_name {
            user.last_name = v.clone();
        }
        if let Some(v) = &self.bio {
            user.bio = v.clone();
        }
        if let Some(v) = &self.picture_key {
            user.picture_key = Some(v.clone());
        }
        if let Some(v) = &self.password_hash {
            user.password_hash = v.clone();
        }
        if let Some(v) = self.password_changed_at {
            user.password_changed_at = Some(v);
        }
    }
}

/// Whether a room is a two-person conversation or a named group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Exactly two members, no admins' actions, one per pair of users.
    Direct,
    /// Named, with admins who manage the members.
    Group,
}

impl RoomKind {
    /// The wire name (`direct` or `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Direct => "direct",
            RoomKind::Group => "group",
        }
    }
}

/// A member's rights in a group room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May add and remove members and change roles.
    Admin,
    /// May read and send messages.
    Member,
}

impl Role {
    /// The wire name (`admin` or `member`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// The newest message of a room, kept on the room for the room list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessagePreview {
    /// Message id.
    pub id: MessageId,
    /// Sender id.
    pub sender_id: UserId,
    /// Sender's username when it was sent.
    pub sender_username: Username,
    /// The text.
    pub body: MessageBody,
    /// When it was sent.
    pub created_at: Timestamp,
    /// Its place in the room.
    #[serde(default)]
    pub seq: u64,
}

/// A chat room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Room {
    /// Opaque id.
    pub id: RoomId,
    /// Direct or group.
    pub kind: RoomKind,
    /// Group rooms have a name; direct rooms do not.
    pub name: Option<RoomName>,
    /// Who created it.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: Timestamp,
    /// Number of members, maintained by the store.
    pub member_count: u32,
    /// Number of admins, maintained by the store.
    pub admin_count: u32,
    /// The newest message, if any.
    pub last_message: Option<MessagePreview>,
    /// The `seq` of the newest message; 0 while the room has none.
    #[serde(default)]
    pub last_seq: u64,
}

impl Room {
    /// When something last happened in the room: its newest message or its creation.
    pub fn last_activity(&self) -> Timestamp {
        self.last_message
            .as_ref()
            .map_or(self.created_at, |m| m.created_at)
    }

    /// The key that makes a direct room unique for its pair of users, whatever
    /// the order they are given in.
    pub fn direct_key(a: &UserId, b: &UserId) -> String {
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        format!("{first}#{second}")
    }
}

/// A user's membership of a room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The room.
    pub room_id: RoomId,
    /// The user.
    pub user_id: UserId,
    /// Admin or plain member.
    pub role: Role,
    /// When the user joined.
    pub joined_at: Timestamp,
    /// The user's username, where the store keeps it with the membership
    /// (so that sending reads it with the room instead of reading the
    /// profile; [`crate::ports::RoomStore::set_member_username`] keeps it
    /// current). `None`: read the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
    /// Whether the user muted the room, where the store keeps it with the
    /// membership (so that a read mark's unread count needs no other read).
    /// `None`: ask [`crate::ports::RoomStore::muted_among`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Opaque id.
    pub id: MessageId,
    /// The room it was sent to.
    pub room_id: RoomId,
    /// The sender.
    pub sender_id: UserId,
    /// The sender's username when it was sent.
    pub sender_username: Username,
    /// The text.
    pub body: MessageBody,
    /// When the server accepted it.
    pub created_at: Timestamp,
    /// The sender's own id for the message, which makes retries idempotent.
    pub client_id: Option<String>,
    /// Its place in the room: 1 for the first message, then 2, 3, … in the
    /// order the store committed them, without gaps. Assigned by the store
    /// when it stores the message (0 before).
    #[serde(default)]
    pub seq: u64,
    /// When its sender last edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// When it was deleted: a deleted message keeps its place and `seq`,
    /// without its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// The room's change number of its latest edit or deletion (0: never
    /// changed). Changes are numbered per room like messages, on a counter
    /// of their own, so that a client catches up on both.
    #[serde(default)]
    pub change: u64,
    /// Its reactions, each emoji once with who reacted, in the order the
    /// emojis were first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The files it carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file a message carries. Its bytes are stored under
/// [`Attachment::key`], which its room and uploader are part of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Opaque id.
    pub id: String,
    /// The name the uploader gave it.
    pub filename: String,
    /// Its media type, as stored.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Attachment {
    /// Where the bytes of attachment `id`, uploaded by `uploader` to
    /// `room`, are stored.
    pub fn key(room: &RoomId, uploader: &UserId, id: &str) -> String {
        format!("attachments/{room}/{uploader}/{id}")
    }
}

/// Files one message may carry.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// One emoji on a message and the members who reacted with it (never none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji.
    pub emoji: Emoji,
    /// Who reacted with it, first first.
    pub user_ids: Vec<UserId>,
}

impl Message {
    /// Whether it was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The preview kept on the room.
    pub fn preview(&self) -> MessagePreview {
        MessagePreview {
            id: self.id.clone(),
            sender_id: self.sender_id.clone(),
            sender_username: self.sender_username.clone(),
            body: self.body.clone(),
            created_at: self.created_at,
            seq: self.seq,
        }
    }
}

/// An open WebSocket connection, as API Gateway identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// API Gateway's connection id.
    pub id: String,
    /// The authenticated user.
    pub user_id: UserId,
    /// The room a per-room socket is bound to; `None` for a per-user socket
    /// that receives events of every room of the user.
    pub room_id: Option<RoomId>,
    /// When it was opened.
    pub connected_at: Timestamp,
    /// When it is considered closed even without a `$disconnect`: when the
    /// token it opened with expires, at most two hours after it opened (API
    /// Gateway closes sockets then).
    pub expires_at: Timestamp,
    /// The login session (refresh-token family) of the token it opened
    /// with: ending that session closes it. `None` for tokens issued before
    /// access tokens named their session.
    pub family: Option<String>,
}

impl Connection {
    /// Whether events of `room` go to this connection.
    pub fn wants(&self, room: &RoomId) -> bool {
        self.room_id.as_ref().is_none_or(|r| r == room)
    }

    /// Whether the connection is still open at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}
