//! The JSON bodies of the API's answers. Field names follow the seed app so
//! that its clients keep working.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    self, Email, MessageBody, MessageId, ProfileText, Role, RoomId, RoomKind, RoomName, Timestamp,
    UserId, Username,
};
use crate::events::{AttachmentInfo, ReactionCount};
use crate::usecases::auth::TokenPair;
use crate::usecases::messages::Status;
use crate::usecases::rooms::{MemberView, Unread};
use crate::usecases::{presence, profile};
use crate::{Ctx, Result};

/// A room's unread count for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// The room.
    pub room_id: RoomId,
    /// Messages after the caller's read mark (0 in a room they muted).
    pub unread_count: u64,
    /// Whether they muted the room.
    pub muted: bool,
}

impl UnreadCount {
    /// `room`'s unread state for the caller.
    pub fn of(room: RoomId, unread: Unread) -> Self {
        Self {
            room_id: room,
            unread_count: unread.count(),
            muted: unread.muted,
        }
    }
}

/// A plain confirmation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    /// What happened.
    pub detail: &'static str,
}

impl Detail {
    /// A confirmation saying `detail`.
    pub fn new(detail: &'static str) -> Self {
        Self { detail }
    }
}

/// The answer to a registration (the same whether or not the address was new).
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// What happens next.
    pub detail: &'static str,
    /// The address as normalised.
    pub email: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// Short-lived token for API calls.
    pub access: String,
    /// Single-use token for the next pair.
    pub refresh: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self {
            access: pair.access,
            refresh: pair.refresh,
        }
    }
}

/// The signed-in user's own profile.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
pub struct OwnProfile {
    /// Account id.
    pub id: UserId,
    /// Display name.
    pub username: Username,
    /// Verified (or to be verified) address.
    pub email: Email,
    /// Given name.
    pub first_name: ProfileText,
    /// Family name.
    pub last_name: ProfileText,
    /// About the user.
    pub bio: ProfileText,
    /// Time-limited URL of the picture.
    #[schema(required = true)]
    pub profile_picture: Option<String>,
    /// Whether the address was confirmed.
    pub email_verified: bool,
    /// When the account was created.
    pub date_joined: Timestamp,
    /// Whether the user has a live connection.
    pub is_online: bool,
    /// When their last connection closed.
    #[schema(required = true)]
    pub last_seen: Option<Timestamp>,
}

impl OwnProfile {
    /// The profile of `user`.
    pub async fn new(ctx: &Ctx, user: &domain::User) -> Result<Self> {
        let online = !presence::online_users(ctx, std::slice::from_ref(&user.id))
            .await?
            .is_empty();
        Ok(Self {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            bio: user.bio.clone(),
            profile_picture: profile::picture_url(ctx, user).await?,
            email_verified: user.email_verified,
            date_joined: user.created_at,
            is_online: online,
            last_seen: user.last_seen,
        })
    }
}

/// Another user as members of a room see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicUser {
    /// Account id.
    pub id: UserId,
    /// Display name.
    pub username: Username,
    /// Given name.
    pub first_name: ProfileText,
    /// Family name.
    pub last_name: ProfileText,
    /// Time-limited URL of the picture.
    #[schema(required = true)]
    pub profile_picture: Option<String>,
    /// Whether the user has a live connection.
    pub is_online: bool,
    /// When their last connection closed.
    #[schema(required = true)]
    pub last_seen: Option<Timestamp>,
}

/// A membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    /// The member.
    pub user: PublicUser,
    /// Their rights.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
}

impl Member {
    /// The membership of `view`.
    pub async fn new(ctx: &Ctx, view: &MemberView) -> Result<Self> {
        let user = &view.user;
        Ok(Self {
            user: PublicUser {
                id: user.id.clone(),
                username: user.username.clone(),
                first_name: user.first_name.clone(),
                last_name: user.last_name.clone(),
                profile_picture: profile::picture_url(ctx, user).await?,
                is_online: view.online,
                last_seen: user.last_seen,
            },
            role: view.member.role,
            joined_at: view.member.joined_at,
        })
    }

    /// Memberships, in the order given.
    pub async fn list(ctx: &Ctx, views: &[MemberView]) -> Result<Vec<Self>> {
        let mut out = Vec::with_capacity(views.len());
        for view in views {
            out.push(Self::new(ctx, view).await?);
        }
        Ok(out)
    }
}

/// An upload slot: the id to name in a message, and how to upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadSlotView {
    /// The attachment's id, for the message's `attachments`.
    pub id: String,
    /// The media type the upload must have.
    pub content_type: String,
    /// The size the upload must have, in bytes.
    pub size: u64,
    /// How to upload: `PUT` the bytes to `url` with `headers`.
    pub upload: UploadInstructions,
    /// Until when the slot takes the upload.
    pub expires_at: Timestamp,
}

/// A `PUT` to make.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadInstructions {
    /// Always `PUT`.
    pub method: &'static str,
    /// Where.
    pub url: String,
    /// Headers to send, exactly.
    pub headers: std::collections::BTreeMap<String, String>,
}

impl From<&crate::usecases::attachments::Slot> for UploadSlotView {
    fn from(slot: &crate::usecases::attachments::Slot) -> Self {
        Self {
            id: slot.id.clone(),
            content_type: slot.content_type.clone(),
            size: slot.size,
            upload: UploadInstructions {
                method: "PUT",
                url: slot.upload.url.clone(),
                headers: slot.upload.headers.iter().cloned().collect(),
            },
            expires_at: slot.expires_at,
        }
    }
}

/// A download URL of one attachment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDownload {
    /// The attachment.
    #[serde(flatten)]
    pub attachment: AttachmentInfo,
    /// Where to fetch its bytes, for a limited time.
    pub url: String,
}

/// A user the caller blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedUser {
    /// The blocked user.
    pub user: Sender,
    /// Since when.
    pub blocked_at: Timestamp,
}

impl From<&crate::usecases::blocks::Blocked> for BlockedUser {
    fn from(b: &crate::usecases::blocks::Blocked) -> Self {
        Self {
            user: Sender {
                id: b.user.id.clone(),
                username: b.user.username.clone(),
            },
            blocked_at: b.block.at,
        }
    }
}

/// A user by id and name (a message's sender, a blocked user).
#[derive(Debug, Serialize, ToSchema)]
pub struct Sender {
    /// Account id.
    pub id: UserId,
    /// Display name.
    pub username: Username,
}

/// A message, with the seed's `message`, `sender` and `timestamp`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// Message id.
    pub id: MessageId,
    /// Its room.
    pub room: RoomId,
    /// Who sent it.
    pub sender: Sender,
    /// The text.
    pub message: MessageBody,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// The sender's idempotency key.
    #[schema(required = true)]
    pub client_id: Option<String>,
    /// How far it got.
    pub status: Status,
    /// Its place in the room: 1, 2, 3, … in the order messages were stored.
    pub seq: u64,
    /// When its sender last edited it.
    #[schema(required = true)]
    pub edited_at: Option<Timestamp>,
    /// Deleted: it keeps its place, without its text.
    pub deleted: bool,
    /// The room's change number of its latest edit, deletion or reaction
    /// (0: never changed); `sync` with `after_change` catches up on changes.
    pub change: u64,
    /// Its reactions: each emoji with its count and whether the caller
    /// reacted with it, in the order the emojis were first used.
    pub reactions: Vec<ReactionCount>,
    /// The files it carries.
    pub attachments: Vec<AttachmentInfo>,
}

impl Message {
    /// A message as `caller` sees it right after sending or changing it.
    pub fn sent(m: &domain::Message, caller: &UserId) -> Self {
        Self::seen_by(m, caller, Status::Sent)
    }

    /// A message of history as `caller` sees it, with its delivery status.
    pub fn seen_by(m: &domain::Message, caller: &UserId, status: Status) -> Self {
        Self {
            id: m.id.clone(),
            room: m.room_id.clone(),
            sender: Sender {
                id: m.sender_id.clone(),
                username: m.sender_username.clone(),
            },
            message: m.body.clone(),
            timestamp: m.created_at,
            client_id: m.client_id.clone(),
            status,
            seq: m.seq,
            edited_at: m.edited_at,
            deleted: m.is_deleted(),
            change: m.change,
            reactions: ReactionCount::of(m, Some(caller)),
            attachments: AttachmentInfo::of(m),
        }
    }
}

/// The last message of a room, in room lists.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MessagePreview)]
pub struct Preview {
    /// Message id.
    pub id: MessageId,
    /// Its room.
    pub room: RoomId,
    /// Who sent it.
    pub sender: Sender,
    /// The text.
    pub message: MessageBody,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// Its place in the room.
    pub seq: u64,
}

/// A room in lists: its last message, counts and activity time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Room {
    /// Room id.
    pub id: RoomId,
    /// The group's name (null for direct rooms).
    #[schema(required = true)]
    pub name: Option<RoomName>,
    /// Direct or group.
    #[serde(rename = "type")]
    pub kind: RoomKind,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// How many members it has.
    pub member_count: u32,
    /// The newest message.
    #[schema(required = true)]
    pub last_message: Option<Preview>,
    /// The newest message's time, or the creation time.
    pub last_activity: Timestamp,
    /// The `seq` of the newest message (0 for none): after a reconnect, the
    /// rooms whose `last_seq` moved are the ones to catch up on.
    pub last_seq: u64,
    /// Messages after the caller's read mark (`last_seq` minus the `seq`
    /// they read up to; sending a message marks the room read); 0 in a room
    /// they muted.
    pub unread_count: u64,
    /// Whether messages follow the caller's read mark, muted or not.
    pub has_unread: bool,
    /// Whether the caller muted the room.
    pub muted: bool,
}

impl Room {
    /// The room as a member with this unread state sees it.
    pub fn seen_by(room: &domain::Room, unread: Unread) -> Self {
        Self {
            id: room.id.clone(),
            name: room.name.clone(),
            kind: room.kind,
            created_by: room.created_by.clone(),
            created_at: room.created_at,
            member_count: room.member_count,
            last_message: room.last_message.as_ref().map(|m| Preview {
                id: m.id.clone(),
                room: room.id.clone(),
                sender: Sender {
                    id: m.sender_id.clone(),
                    username: m.sender_username.clone(),
                },
                message: m.body.clone(),
                timestamp: m.created_at,
                seq: m.seq,
            }),
            last_activity: room.last_activity(),
            last_seq: room.last_seq,
            unread_count: unread.count(),
            has_unread: unread.messages > 0,
            muted: unread.muted,
        }
    }
}

/// A room with its members and the caller's role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomDetail {
    /// The room.
    #[serde(flatten)]
    pub room: Room,
    /// Its members.
    pub members: Vec<Member>,
    /// The caller's role.
    pub my_role: Role,
}

impl RoomDetail {
    /// The room with `members`, seen by a caller with `my_role`.
    pub async fn new(
        ctx: &Ctx,
        room: &domain::Room,
        members: &[MemberView],
        my_role: Role,
        unread: Unread,
    ) -> Result<Self> {
        Ok(Self {
            room: Room::seen_by(room, unread),
            members: Member::list(ctx, members).await?,
            my_role,
        })
    }
}

/// A page of history: newest first, or oldest first for `after_seq`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MessagePage)]
pub struct Page {
    /// The messages.
    pub results: Vec<Message>,
    /// Where the next page starts, if more follow: the `before` cursor of
    /// the older page, or the `after_seq` of the newer one.
    #[schema(required = true)]
    pub next: Option<String>,
}

impl Page {
    /// A page of history as `caller` sees it.
    pub fn seen_by(page: &crate::usecases::messages::Page, caller: &UserId) -> Self {
        Self {
            results: page
                .messages
                .iter()
                .map(|(m, status)| Message::seen_by(m, caller, *status))
                .collect(),
            next: page.next.clone(),
        }
    }
}
