//! Values parsed at the boundary and the entities built from them.
//!
//! A value of one of these types is valid by construction: parse once where
//! input arrives, and the rest of the code never checks again.

mod entities;
mod ids;
pub(crate) mod text;
mod time;

pub use entities::{
    Attachment, Connection, Member, Message, MessagePreview, ProfileUpdate, Reaction, Role, Room,
    RoomKind, User, DIRECT_ROOM_SIZE, MAX_ATTACHMENTS_PER_MESSAGE, MAX_REACTIONS_PER_MESSAGE,
};
pub use ids::{MessageId, RoomId, UserId};
pub use text::{Email, Emoji, MessageBody, Password, ProfileText, RoomName, Username};
pub use time::Timestamp;
