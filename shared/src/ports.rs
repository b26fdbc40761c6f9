//! The ports: one small trait per capability the use-cases need.
//!
//! Expected outcomes (an e-mail already taken, a reused refresh token, the
//! last admin leaving) are values of an outcome enum; `Err` is kept for
//! infrastructure failures ([`Error::Unavailable`], [`Error::Internal`]).
//! Every store operation that touches more than one record is atomic.

use async_trait::async_trait;

use crate::domain::{
    Connection, Email, Emoji, Member, Message, MessageBody, MessageId, ProfileUpdate, Reaction,
    Role, Room, RoomId, Timestamp, User, UserId, Username, MAX_REACTIONS_PER_MESSAGE,
};
use crate::Result;

/// Result of [`UserStore::create_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateUser {
    /// The user was stored.
    Created,
    /// Another account has this e-mail address.
    EmailTaken,
    /// Another account has this username (case-insensitively).
    UsernameTaken,
}

/// Result of [`UserStore::update_profile`].
#[derive(Debug, Clone)]
pub enum UpdateProfile {
    /// The profile as it is now.
    Updated(Box<User>),
    /// The new username belongs to someone else.
    UsernameTaken,
    /// No such user.
    NotFound,
}

/// Accounts, unique by e-mail and by username.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user unless its e-mail or username is taken; atomic, so
    /// concurrent registrations of one address create one account.
    async fn create_user(&self, user: &User) -> Result<CreateUser>;
    /// The user with this id.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>>;
    /// The user with this (normalised) e-mail.
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    /// The user with this username, compared case-insensitively.
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>>;
    /// The users with these ids that exist, in any order.
    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<User>>;
    /// Marks the e-mail address as verified.
    async fn mark_verified(&self, id: &UserId) -> Result<()>;
    /// Applies a partial profile change; a username change is atomic with its
    /// uniqueness check.
    async fn update_profile(&self, id: &UserId, update: &ProfileUpdate) -> Result<UpdateProfile>;
    /// Records when the user was last online.
    async fn set_last_seen(&self, id: &UserId, at: Timestamp) -> Result<()>;
    /// Records that `blocker` blocks `blocked` (since `at`), or with `on`
    /// false that they no longer do: both users' lists change in one atomic
    /// step. Blocking again keeps the first `at`.
    async fn set_block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        on: bool,
        at: Timestamp,
    ) -> Result<()>;
    /// Whom `user` blocks and who blocks them.
    async fn blocks_of(&self, user: &UserId) -> Result<Blocks>;
}

/// One user blocked by another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// The blocked user.
    pub user_id: UserId,
    /// Since when.
    pub at: Timestamp,
}

/// A user's blocks, both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocks {
    /// Whom they block, oldest first.
    pub blocking: Vec<Block>,
    /// Who blocks them.
    pub blocked_by: Vec<UserId>,
}

impl Blocks {
    /// Whether a block stands between the user and `other`, either way:
    /// then neither messages nor sees the other.
    pub fn between(&self, other: &UserId) -> bool {
        self.blocked_by.contains(other) || self.blocking.iter().any(|b| b.user_id == *other)
    }
}

/// A pending e-mail verification code.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OtpRecord {
    /// The address being verified.
    pub email: Email,
    /// The account it verifies.
    pub user_id: UserId,
    /// Keyed hash of the code; the code itself is never stored.
    pub code_hash: String,
    /// The code is dead after this instant.
    pub expires_at: Timestamp,
    /// Verification attempts made so far.
    pub attempts: u32,
    /// Credentials that a registration of the (taken, unverified) address
    /// asked for: entering this code gives them to the account.
    #[serde(default)]
    pub pending: Option<PendingCredentials>,
}

/// What a registration of an address whose account is not verified yet
/// asked for. Whoever can read the address's inbox decides: the account
/// takes these when the code mailed with them is entered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingCredentials {
    /// The username asked for.
    pub username: Username,
    /// The password asked for (Argon2id PHC string).
    pub password_hash: String,
}

/// Pending e-mail verification codes, one per address.
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Stores a code for the address, replacing any earlier one.
    async fn put_otp(&self, otp: &OtpRecord) -> Result<()>;
    /// Atomically counts one attempt against the address's code and returns
    /// the record if the code is still usable: not expired at `now` and fewer
    /// than `max_attempts` attempts before this one. Counting before comparing
    /// bounds the guesses, even when they arrive concurrently.
    async fn take_attempt(
        &self,
        email: &Email,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<OtpRecord>>;
    /// The address's code as it stands, if it is still usable at `now`
    /// (no attempt is counted).
    async fn otp(&self, email: &Email, now: Timestamp) -> Result<Option<OtpRecord>>;
    /// Removes the address's code.
    async fn delete_otp(&self, email: &Email) -> Result<()>;
}

/// A refresh token that was issued, identified by its `jti`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefreshRecord {
    /// The token's unique id.
    pub jti: String,
    /// The login session it belongs to; every rotation stays in one family.
    pub family: String,
    /// The token's owner.
    pub user_id: UserId,
    /// When the token expires.
    pub expires_at: Timestamp,
}

/// How a consumed refresh token was replaced: by which token, when, for
/// which client (see [`TokenStore::rotate_refresh`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Successor {
    /// The token it was replaced by.
    pub jti: String,
    /// When that token expires.
    pub expires_at: Timestamp,
    /// When it was replaced.
    pub rotated_at: Timestamp,
    /// The client (address) that replaced it.
    pub client: String,
}

/// Result of [`TokenStore::rotate_refresh`].
#[derive(Debug, Clone)]
pub enum Rotate {
    /// The old token was consumed and the new one stored.
    Rotated,
    /// The old token had been used already: a sign that it was stolen, or
    /// of two tabs refreshing at once. What replaced it, when known.
    Reused(Option<Successor>),
    /// The token is unknown, expired, or its family was revoked.
    Invalid,
}

/// Issued refresh tokens and revoked token families.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Records a newly issued refresh token.
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<()>;
    /// Atomically consumes `old_jti` (which must be live, unused and of a
    /// family that is not revoked) and records `new`, which belongs to the
    /// same family; the consumed token remembers its [`Successor`] (`new`,
    /// `now`, `client`).
    async fn rotate_refresh(
        &self,
        old_jti: &str,
        new: &RefreshRecord,
        now: Timestamp,
        client: &str,
    ) -> Result<Rotate>;
    /// Revokes every token of a family, until `until` (when its tokens have
    /// expired anyway).
    async fn revoke_family(&self, family: &str, until: Timestamp) -> Result<()>;
    /// Whether a family is revoked at `now`.
    async fn family_revoked(&self, family: &str, now: Timestamp) -> Result<bool>;
}

/// Result of [`RateLimiter::hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit; the hit was counted.
    Allowed,
    /// Over the limit; retry after this many seconds.
    Limited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
}

/// The fixed window of `window_secs` that contains `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Start, in seconds since the epoch (part of the counter's key).
    pub start_secs: i64,
    /// When the window ends (and its counter may be forgotten).
    pub end: Timestamp,
    /// Seconds from `now` to the end, at least 1.
    pub retry_after_secs: u64,
}

impl RateWindow {
    /// Limited when `hits` already reached `limit`.
    pub fn decide(&self, hits: u32, limit: u32) -> RateDecision {
        if hits >= limit {
            RateDecision::Limited {
                retry_after_secs: self.retry_after_secs,
            }
        } else {
            RateDecision::Allowed
        }
    }

    /// The window containing `now`.
    pub fn containing(now: Timestamp, window_secs: u64) -> Self {
        let window = i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX);
        let start_secs = now.secs() - now.secs().rem_euclid(window);
        Self {
            start_secs,
            end: Timestamp::from_millis(0).plus_secs(start_secs + window),
            retry_after_secs: u64::try_from(start_secs + window - now.secs())
                .unwrap_or(1)
                .max(1),
        }
    }
}

/// Fixed-window counters, e.g. for "one code per minute per address".
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts a hit on `key` in the window of `window_secs` that contains
    /// `now`, allowing at most `limit` hits per window.
    async fn hit(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision>;

    /// Whether `key` already has `limit` hits in the window of `window_secs`
    /// that contains `now`, without counting one.
    async fn peek(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision>;
}

/// Result of [`RoomStore::create_direct`].
#[derive(Debug, Clone)]
pub enum CreateDirect {
    /// A new room was created.
    Created(Box<Room>),
    /// The pair already had a room; here it is.
    Existing(Box<Room>),
}

/// Result of [`RoomStore::add_member`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddMember {
    /// The member was added.
    Added,
    /// The user was a member already.
    AlreadyMember,
    /// The room does not exist.
    NoRoom,
    /// The room already has as many members as it may.
    Full,
}

/// Result of [`RoomStore::remove_member`] and [`RoomStore::set_role`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeMember {
    /// Done.
    Done,
    /// The user is not a member.
    NotMember,
    /// Refused: the room would have members but no admin.
    LastAdmin,
}

/// Rooms and their members.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Stores a group room with its first members, all or nothing.
    async fn create_group(&self, room: &Room, members: &[Member]) -> Result<()>;
    /// Creates the direct room of a pair, or returns the one they have. Atomic:
    /// concurrent calls for one pair yield one room.
    async fn create_direct(&self, room: &Room, members: &[Member; 2]) -> Result<CreateDirect>;
    /// The room with this id.
    async fn room(&self, id: &RoomId) -> Result<Option<Room>>;
    /// The membership of `user` in `room`.
    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>>;
    /// Every member of a room.
    async fn members(&self, room: &RoomId) -> Result<Vec<Member>>;
    /// The room with this id and every member of it, read together: what
    /// sending a message needs to know (may the sender write, who gets it).
    /// An adapter that can read both at once (one DynamoDB query) overrides
    /// this.
    async fn room_and_members(&self, id: &RoomId) -> Result<Option<(Room, Vec<Member>)>> {
        let Some(room) = self.room(id).await? else {
            return Ok(None);
        };
        Ok(Some((room, self.members(id).await?)))
    }
    /// Every room `user` belongs to.
    async fn rooms_of(&self, user: &UserId) -> Result<Vec<Room>>;
    /// `user` was renamed: every membership that keeps a username takes the
    /// new one. Idempotent. A store that keeps none ([`Member::username`]
    /// always `None`) has nothing to do.
    async fn set_member_username(&self, user: &UserId, username: &Username) -> Result<()> {
        let _ = (user, username);
        Ok(())
    }
    /// Adds a member, keeping the room's counts in step, unless the room
    /// already has `limit` members: the limit is part of the write, so
    /// concurrent adds cannot overfill a room.
    async fn add_member(&self, member: &Member, limit: u32) -> Result<AddMember>;
    /// Removes a member unless that would leave other members without an admin.
    async fn remove_member(&self, room: &RoomId, user: &UserId) -> Result<ChangeMember>;
    /// Changes a member's role unless that would leave the room without an admin.
    async fn set_role(&self, room: &RoomId, user: &UserId, role: Role) -> Result<ChangeMember>;
    /// Mutes the room for its member `user` (or, with `muted` false,
    /// unmutes it). The flag belongs to the membership: it goes when they
    /// leave. `LastAdmin` is never returned.
    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> Result<ChangeMember>;
    /// The rooms among `rooms` that `user` muted, read in one batch.
    async fn muted_among(
        &self,
        user: &UserId,
        rooms: &[RoomId],
    ) -> Result<std::collections::HashSet<RoomId>>;
}

/// Result of [`MessageStore::append`].
#[derive(Debug, Clone)]
pub enum Append {
    /// Stored with this `seq`, and made the room's last message.
    Stored {
        /// The message's place in the room.
        seq: u64,
        /// The id it is stored under: the given one, or that id extended by
        /// a store that finds messages by id faster when the id says where
        /// it is (the DynamoDB store adds the seq).
        id: MessageId,
    },
    /// The sender had already sent a message with this client id; here it is.
    Duplicate(Box<Message>),
}

/// Messages of rooms, each with its place in the room (`seq`).
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores a message under the room's next `seq` and makes it the room's
    /// last message: the seqs of a room are 1, 2, 3, … in commit order, with
    /// no gap even if a writer dies half-way. (A store may update the room's
    /// summary in a second step; a writer dying between the two leaves the
    /// summary behind until the next message, never the messages.) The
    /// message's own `seq` is ignored, and its id may be extended (see
    /// [`Append::Stored`]). A message whose `client_id` the sender already
    /// used in this room is not stored again.
    async fn append(&self, message: &Message) -> Result<Append>;
    /// [`append`](Self::append), told the room's `last_seq` as the caller has
    /// just read it: an adapter that would read it first can start from it
    /// instead (a stale one costs a retry, never a gap).
    async fn append_after(&self, message: &Message, last_seq: u64) -> Result<Append> {
        let _ = last_seq;
        self.append(message).await
    }
    /// One message of a room.
    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>>;
    /// Up to `limit` messages of the room, newest first, with a `seq` below
    /// `before` when given.
    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>>;
    /// Up to `limit` messages of the room with a `seq` above `after`, oldest
    /// first: what a client that saw everything up to `after` missed. Reads
    /// what is committed (strongly consistent), so nothing acknowledged is
    /// skipped.
    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>>;
    /// Applies `change` to a message in one atomic step: the message takes
    /// the room's next change number (its `change`; only its latest change
    /// is kept), and if it is the room's last message the preview follows.
    async fn change_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        change: &MessageChange,
    ) -> Result<ChangeMessage>;
    /// Up to `limit` messages of the room whose latest change is numbered
    /// above `after`, in change order: the edits and deletions a client that
    /// saw every change up to `after` missed (strongly consistent).
    async fn changes_after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<Message>>;
}

/// An edit or a deletion of a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// New text, by the message's sender.
    Edit {
        /// The new text.
        body: MessageBody,
        /// Who edits: only the sender may.
        by: UserId,
        /// When.
        at: Timestamp,
    },
    /// Deletion: the text goes, the message keeps its place.
    Delete {
        /// The sender deleting their own message, or `None` for a room
        /// admin, who may delete anyone's.
        by: Option<UserId>,
        /// When.
        at: Timestamp,
    },
    /// A member adds (`add`) or takes back a reaction: one per member per
    /// emoji, at most [`MAX_REACTIONS_PER_MESSAGE`] emojis per message.
    React {
        /// The emoji.
        emoji: Emoji,
        /// Who reacts.
        by: UserId,
        /// Add it, or take it back.
        add: bool,
    },
}

impl MessageChange {
    /// `message` with this change applied as change number `number`, or why
    /// it cannot be.
    pub fn apply(
        &self,
        message: &Message,
        number: u64,
    ) -> std::result::Result<Message, ChangeMessage> {
        if message.is_deleted() {
            return Err(ChangeMessage::AlreadyDeleted);
        }
        let mut changed = message.clone();
        changed.change = number;
        match self {
            MessageChange::Edit { body, by, at } => {
                if *by != message.sender_id {
                    return Err(ChangeMessage::NotSender);
                }
                changed.body = body.clone();
                changed.edited_at = Some(*at);
            }
            MessageChange::Delete { by, at } => {
                if by.as_ref().is_some_and(|by| *by != message.sender_id) {
                    return Err(ChangeMessage::NotSender);
                }
                changed.body = MessageBody::from_trusted(String::new());
                changed.deleted_at = Some(*at);
                changed.reactions.clear();
            }
            MessageChange::React { emoji, by, add } => {
                react(&mut changed.reactions, emoji, by, *add)?;
            }
        }
        Ok(changed)
    }
}

/// Adds or takes back `by`'s reaction with `emoji` in `reactions`; refuses
/// what would change nothing, and a new emoji beyond the limit.
fn react(
    reactions: &mut Vec<Reaction>,
    emoji: &Emoji,
    by: &UserId,
    add: bool,
) -> std::result::Result<(), ChangeMessage> {
    let found = reactions.iter().position(|r| r.emoji == *emoji);
    match (found, add) {
        (Some(i), true) if reactions[i].user_ids.contains(by) => Err(ChangeMessage::Unchanged),
        (Some(i), true) => {
            reactions[i].user_ids.push(by.clone());
            Ok(())
        }
        (None, true) if reactions.len() >= MAX_REACTIONS_PER_MESSAGE => {
            Err(ChangeMessage::TooManyReactions)
        }
        (None, true) => {
            reactions.push(Reaction {
                emoji: emoji.clone(),
                user_ids: vec![by.clone()],
            });
            Ok(())
        }
        (Some(i), false) if reactions[i].user_ids.contains(by) => {
            reactions[i].user_ids.retain(|u| u != by);
            if reactions[i].user_ids.is_empty() {
                reactions.remove(i);
            }
            Ok(())
        }
        (_, false) => Err(ChangeMessage::Unchanged),
    }
}

/// Result of [`MessageStore::change_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeMessage {
    /// Changed; the message as it is now.
    Changed(Box<Message>),
    /// No such message in the room.
    NotFound,
    /// The change needs the sender, and this is someone else.
    NotSender,
    /// The message was deleted already.
    AlreadyDeleted,
    /// The change would change nothing (a reaction already there, or not
    /// there to take back); nothing was numbered.
    Unchanged,
    /// A new emoji would exceed [`MAX_REACTIONS_PER_MESSAGE`].
    TooManyReactions,
}

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Sends e-mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message.
    async fn send(&self, mail: &Mail) -> Result<()>;
}

/// A stored file and its media type.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// Media type, e.g. `image/png`.
    pub content_type: String,
}

/// Where and how a client uploads one file: a `PUT` of exactly the bytes
/// announced, with these headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSlot {
    /// The URL to `PUT` to.
    pub url: String,
    /// Headers the upload must carry, as given.
    pub headers: Vec<(String, String)>,
}

/// What a stored blob is: its size, media type and first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHead {
    /// Its size in bytes.
    pub size: u64,
    /// Its media type, as stored.
    pub content_type: String,
    /// Its first bytes (at most as many as asked for).
    pub prefix: bytes::Bytes,
}

/// How long an uploaded file that no message took stays stored.
pub const UNREFERENCED_UPLOAD_SECS: i64 = 24 * 3600;

/// Stores files such as profile pictures and attachments.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `blob` under `key`, replacing what was there.
    async fn put(&self, key: &str, blob: Blob) -> Result<()>;
    /// A URL from which a client can fetch the blob for a limited time.
    async fn url(&self, key: &str, now: Timestamp) -> Result<String>;
    /// A URL a client may `PUT` exactly `size` bytes of `content_type` to,
    /// under `key`, until `expires_at`. What is uploaded there is pending:
    /// it is deleted after [`UNREFERENCED_UPLOAD_SECS`] unless kept.
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<UploadSlot>;
    /// The size, type and first `prefix` bytes of the blob under `key`.
    async fn head(&self, key: &str, prefix: usize) -> Result<Option<BlobHead>>;
    /// Keeps an uploaded blob for good (a message took it) or, with `keep`
    /// false, lets it be deleted as an unreferenced upload is.
    async fn keep(&self, key: &str, keep: bool) -> Result<()>;
}

/// Tells the time. Injected so that expiry can be tested.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// Makes new ids.
pub trait IdGenerator: Send + Sync {
    /// A new, unique, opaque id (26 characters, sortable by creation time).
    fn new_id(&self) -> String;
    /// A new id whose time part is `at`: message ids sort like their
    /// `created_at`, which makes an id a position in a room's history.
    fn new_id_at(&self, at: Timestamp) -> String;
}

/// Result of [`ConnectionStore::add_connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddConnection {
    /// Recorded; the user now has `live` live connections, this one included.
    Added {
        /// The user's live connections now.
        live: usize,
    },
    /// The user already has `limit` live connections; nothing was stored.
    Full,
}

/// Open WebSocket connections, indexed by id and by user.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Records a connection unless its user already has `limit` live ones
    /// (a condition of the write itself, so that sockets opening at once
    /// cannot slip past it together).
    async fn add_connection(
        &self,
        connection: &Connection,
        now: Timestamp,
        limit: usize,
    ) -> Result<AddConnection>;
    /// Forgets a connection; returns it and how many live connections its user
    /// still has, or `None` if it was unknown.
    async fn remove_connection(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Connection, usize)>>;
    /// A live connection by id.
    async fn connection(&self, id: &str, now: Timestamp) -> Result<Option<Connection>>;
    /// The live connections of these users, read in batches.
    async fn connections_of(&self, users: &[UserId], now: Timestamp) -> Result<Vec<Connection>>;
}

/// How far each member of a room has received and read, as the `seq` of
/// the newest message reached. One watermark per member, not one row per message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipts {
    /// Newest message pushed to a connection of the member.
    pub delivered: std::collections::HashMap<UserId, u64>,
    /// Newest message the member acknowledged reading.
    pub read: std::collections::HashMap<UserId, u64>,
}

/// Delivery and read watermarks per room member.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Raises the delivered watermark of each user to `upto` (never lowers it).
    async fn mark_delivered(&self, room: &RoomId, users: &[UserId], upto: u64) -> Result<()>;
    /// Raises the read (and delivered) watermark of `user` to `upto`; false if
    /// it was already there or beyond.
    async fn mark_read(&self, room: &RoomId, user: &UserId, upto: u64) -> Result<bool>;
    /// What a sent message `upto` leaves behind: its `sender` has read the
    /// room up to it, and it reached `delivered`. An adapter that can raise
    /// all these watermarks in one write (one DynamoDB update) overrides this.
    async fn mark_sent(
        &self,
        room: &RoomId,
        sender: &UserId,
        delivered: &[UserId],
        upto: u64,
    ) -> Result<()> {
        self.mark_read(room, sender, upto).await?;
        if !delivered.is_empty() {
            self.mark_delivered(room, delivered, upto).await?;
        }
        Ok(())
    }
    /// The watermarks of a room.
    async fn receipts(&self, room: &RoomId) -> Result<Receipts>;
    /// How far `user` has read in each of `rooms` (0 where never), read in
    /// batches: with each room's `last_seq`, the unread counts.
    async fn read_marks(
        &self,
        user: &UserId,
        rooms: &[RoomId],
    ) -> Result<std::collections::HashMap<RoomId, u64>>;
}

/// Result of [`Notifier::post`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The frame was handed to the connection.
    Delivered,
    /// The connection no longer exists; forget it.
    Gone,
}

/// Pushes frames to WebSocket connections (API Gateway's PostToConnection).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one text frame to a connection.
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<Delivery>;

    /// Closes a connection (API Gateway's DeleteConnection); a connection
    /// already gone is not an error.
    async fn close(&self, connection_id: &str) -> Result<()>;

    /// Whether stored messages reach the sockets without the sender's
    /// request fanning them out: true where the store publishes each append
    /// in the step that stores it and every gateway process pushes it to the
    /// sockets it holds (Redis). False by default: the request that stored a
    /// message pushes it to every member's connections.
    fn pushes_stored_messages(&self) -> bool {
        false
    }
}
