//! Files attached to messages. A member asks for an upload slot (the type
//! and size are fixed by it), uploads the bytes straight to the blob store,
//! then sends a message naming the upload; the message checks the stored
//! bytes (size, type, and for images their signature) and keeps them. An
//! upload no message took is deleted after a day. Members get a download
//! URL valid for a limited time, one attachment at a time.

use crate::domain::{
    Attachment, MessageId, RoomId, Timestamp, UserId, MAX_ATTACHMENTS_PER_MESSAGE,
};
use serde_json::Value;

use crate::ports::{RateDecision, UploadSlot};
use crate::usecases::{messages, profile, rooms};
use crate::{Ctx, Error, Result};

/// How long an upload slot stays open.
pub const UPLOAD_SLOT_SECS: i64 = 900;
/// Longest file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;
/// Bytes read back to recognise an image.
const SNIFF_BYTES: usize = 16;

/// An upload slot: the attachment's id and where to put its bytes.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The id to name in the message.
    pub id: String,
    /// The media type the upload must have.
    pub content_type: String,
    /// The size the upload must have.
    pub size: u64,
    /// Where and how to upload.
    pub upload: UploadSlot,
    /// Until when the slot takes the upload.
    pub expires_at: Timestamp,
}

/// An attachment named by a message being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The id its upload slot gave.
    pub id: String,
    /// The name to show (the id when none is given).
    pub filename: String,
}

/// A file name as shown to members: 1 to [`MAX_FILENAME_CHARS`] characters,
/// no control characters, no path separators.
pub fn parse_filename(raw: &str) -> std::result::Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if name.chars().count() > MAX_FILENAME_CHARS {
        return Err(format!(
            "Ensure this field has no more than {MAX_FILENAME_CHARS} characters."
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err("A file name cannot contain control characters or slashes.".into());
    }
    Ok(name.to_owned())
}

/// A media type this deployment accepts (compared without case).
pub fn parse_content_type(ctx: &Ctx, raw: &str) -> std::result::Result<String, String> {
    let wanted = raw.trim().to_ascii_lowercase();
    if ctx.settings.attachment_types.contains(&wanted) {
        Ok(wanted)
    } else {
        Err(format!(
            "Files of type \"{}\" cannot be attached (accepted: {}).",
            raw.trim(),
            ctx.settings.attachment_types.join(", ")
        ))
    }
}

/// A size this deployment accepts: 1 byte to `MAX_ATTACHMENT_BYTES`.
pub fn check_size(ctx: &Ctx, size: u64) -> std::result::Result<u64, String> {
    let max = ctx.settings.max_attachment_bytes;
    if size == 0 || size > max {
        return Err(format!("A file must have 1 to {max} bytes."));
    }
    Ok(size)
}

/// An id as upload slots hand them out (the shape of a message id).
fn parse_id(raw: &str) -> Option<String> {
    MessageId::parse(raw).map(|id| id.as_str().to_owned())
}

/// Opens an upload slot in `room` for `caller`, a member who may write
/// there. Counted against the sending limit (in a window of its own) and
/// against `MAX_UPLOADS_PER_MINUTE` over all the user's rooms.
pub async fn create_slot(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    content_type: String,
    size: u64,
) -> Result<Slot> {
    messages::writer_in(ctx, caller, room, "attach").await?;
    let now = ctx.clock.now();
    // Each slot may bring up to MAX_ATTACHMENT_BYTES: bounded per user too,
    // whatever how many rooms they write in.
    if let RateDecision::Limited { retry_after_secs } = ctx
        .limiter
        .hit(
            &format!("uploads:{caller}"),
            60,
            ctx.settings.max_uploads_per_minute,
            now,
        )
        .await?
    {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let id = ctx.ids.new_id_at(now);
    let expires_at = now.plus_secs(UPLOAD_SLOT_SECS);
    let key = Attachment::key(room, caller, &id);
    let upload = ctx
        .blobs
        .upload_url(&key, &content_type, size, now, expires_at)
        .await?;
    Ok(Slot {
        id,
        content_type,
        size,
        upload,
        expires_at,
    })
}

/// Checks the uploads a message of `caller` in `room` names, and keeps
/// them: each must be `caller`'s upload to this room, within the size
/// limit, of an accepted type, and an image must be the image it says.
pub async fn take(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    named: &[Named],
) -> Result<Vec<Attachment>> {
    if named.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(Error::field(
            "attachments",
            format!("A message can carry at most {MAX_ATTACHMENTS_PER_MESSAGE} files."),
        ));
    }
    let mut taken: Vec<Attachment> = Vec::with_capacity(named.len());
    for n in named {
        if taken.iter().any(|a| a.id == n.id) {
            return Err(Error::field(
                "attachments",
                format!("The file {} is named twice.", n.id),
            ));
        }
        let refused = |why: &str| Error::field("attachments", format!("{}: {why}", n.filename));
        let key = Attachment::key(room, caller, &n.id);
        let Some(head) = ctx.blobs.head(&key, SNIFF_BYTES).await? else {
            return Err(refused(
                "no such upload (ask for an upload slot in this room, then upload the file).",
            ));
        };
        if check_size(ctx, head.size).is_err() {
            return Err(refused(&format!(
                "a file must have 1 to {} bytes.",
                ctx.settings.max_attachment_bytes
            )));
        }
        let content_type = parse_content_type(ctx, &head.content_type).map_err(|e| refused(&e))?;
        if content_type.starts_with("image/")
            && profile::sniff_image(&head.prefix) != Some(content_type.as_str())
        {
            return Err(refused("the file is not the image its type says."));
        }
        taken.push(Attachment {
            id: n.id.clone(),
            filename: n.filename.clone(),
            content_type,
            size: head.size,
        });
    }
    for a in &taken {
        ctx.blobs
            .keep(&Attachment::key(room, caller, &a.id), true)
            .await?;
    }
    Ok(taken)
}

/// Lets the files of a deleted message go as unreferenced uploads do.
pub async fn release(ctx: &Ctx, room: &RoomId, sender: &UserId, attachments: &[Attachment]) {
    for a in attachments {
        if let Err(e) = ctx
            .blobs
            .keep(&Attachment::key(room, sender, &a.id), false)
            .await
        {
            tracing::warn!(error = %e, attachment = %a.id, "releasing a deleted message's file failed");
        }
    }
}

/// A member's download URL of one attachment of a message that is not
/// deleted, with the attachment.
pub async fn download(
    ctx: &Ctx,
    caller: &UserId,
    room: &RoomId,
    message: &MessageId,
    attachment: &str,
) -> Result<(Attachment, String)> {
    rooms::room_for_member(ctx, caller, room).await?;
    let not_found = || Error::NotFound("Attachment not found.".into());
    let found = ctx
        .messages
        .message(room, message)
        .await?
        .filter(|m| !m.is_deleted())
        .ok_or_else(Error::message_not_found)?;
    let id = parse_id(attachment).ok_or_else(not_found)?;
    let attachment = found
        .attachments
        .iter()
        .find(|a| a.id == id)
        .cloned()
        .ok_or_else(not_found)?;
    let key = Attachment::key(room, &found.sender_id, &attachment.id);
    let url = ctx.blobs.url(&key, ctx.clock.now()).await?;
    Ok((attachment, url))
}

/// The attachments a request names: ids as upload slots gave them, each
/// with an optional file name.
pub fn named(id: &str, filename: Option<&str>) -> std::result::Result<Named, String> {
    let id = parse_id(id).ok_or_else(|| format!("{id:?} is not an attachment id."))?;
    let filename = match filename {
        Some(raw) => parse_filename(raw)?,
        None => id.clone(),
    };
    Ok(Named { id, filename })
}

/// A file a message names: the id its upload slot gave, and the name to show.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// The upload slot's id.
    pub id: String,
    /// The name members see (the id when left out).
    pub filename: Option<String>,
}

/// The `attachments` of a send: a list of ids or `{id, filename}`.
pub fn parse_list(raw: Value) -> std::result::Result<Vec<Named>, String> {
    let Value::Array(items) = raw else {
        return Err("Expected a list of attachment ids.".into());
    };
    if items.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(format!(
            "A message can carry at most {MAX_ATTACHMENTS_PER_MESSAGE} files."
        ));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(id) => named(&id, None),
            object @ Value::Object(_) => {
                let named_file = serde_json::from_value::<AttachmentRef>(object).map_err(|_| {
                    "Each attachment is an id or {id, filename} with text values.".to_owned()
                })?;
                named(&named_file.id, named_file.filename.as_deref())
            }
            _ => Err("Each attachment is an id or {id, filename}.".into()),
        })
        .collect()
}
