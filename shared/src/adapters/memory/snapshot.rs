//! The durable part of a [`MemoryStore`], so that the local run can be saved
//! to disk and read back: accounts, pending codes, sessions, rooms, members,
//! messages and receipts. Rate-limit windows and WebSocket connections are
//! left out (they mean something only to the process that made them), and
//! the indexes are rebuilt from the records. Records are sorted, so that the
//! same state always gives the same bytes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{MemoryStore, State, StoredRefresh};
use crate::domain::{Member, Message, MessageId, Room, RoomId, RoomKind, Timestamp, User, UserId};
use crate::ports::{OtpRecord, Receipts, RefreshRecord, Successor};
use crate::Result;

/// The format written by this version. Format 1 (before messages had a
/// `seq`) is read too: its messages are numbered in their old order (time,
/// then id) and its id watermarks become seq watermarks. Others are refused.
const FORMAT: u32 = 2;

/// A saved [`MemoryStore`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    format: u32,
    users: Vec<User>,
    otps: Vec<OtpRecord>,
    refresh_tokens: Vec<SavedRefresh>,
    revoked_families: BTreeMap<String, Timestamp>,
    rooms: Vec<Room>,
    members: Vec<Member>,
    messages: Vec<Message>,
    receipts: Vec<SavedReceipts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    blocks: Vec<SavedBlock>,
    /// The (room, member) pairs whose member muted the room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    muted: Vec<(RoomId, UserId)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedBlock {
    blocker: UserId,
    blocked: UserId,
    at: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedRefresh {
    token: RefreshRecord,
    used: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    successor: Option<Successor>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedReceipts {
    room_id: RoomId,
    delivered: BTreeMap<UserId, Watermark>,
    read: BTreeMap<UserId, Watermark>,
}

/// A saved watermark: a `seq`, or a message id in format 1.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Watermark {
    Seq(u64),
    Id(MessageId),
}

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Written by another version of the store.
    #[error("snapshot format {found} is not the supported format {FORMAT}")]
    Format {
        /// The file's format number.
        found: u32,
    },
    /// Records contradict each other (e.g. two accounts with one address).
    #[error("inconsistent snapshot: {0}")]
    Inconsistent(String),
}

impl MemoryStore {
    /// Copies the durable state.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let s = self.lock()?;
        let mut users: Vec<User> = s.users.values().cloned().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        let mut otps: Vec<OtpRecord> = s.otps.values().cloned().collect();
        otps.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        let mut refresh_tokens: Vec<SavedRefresh> = s
            .refresh
            .values()
            .map(|stored| SavedRefresh {
                token: stored.record.clone(),
                used: stored.used,
                successor: stored.successor.clone(),
            })
            .collect();
        refresh_tokens.sort_by(|a, b| a.token.jti.cmp(&b.token.jti));
        let mut rooms: Vec<Room> = s.rooms.values().cloned().collect();
        rooms.sort_by(|a, b| a.id.cmp(&b.id));
        let sorted_rooms: BTreeMap<&RoomId, _> = s.members.iter().collect();
        let members = sorted_rooms
            .into_values()
            .flat_map(|m| m.values().cloned())
            .collect();
        let sorted_rooms: BTreeMap<&RoomId, _> = s.messages.iter().collect();
        let messages = sorted_rooms
            .into_values()
            .flat_map(|m| m.values().cloned())
            .collect();
        let sorted_blockers: BTreeMap<&UserId, _> = s.blocking.iter().collect();
        let blocks = sorted_blockers
            .into_iter()
            .flat_map(|(blocker, blocked)| {
                blocked.iter().map(|(user, at)| SavedBlock {
                    blocker: blocker.clone(),
                    blocked: user.clone(),
                    at: *at,
                })
            })
            .collect();
        let sorted_rooms: BTreeMap<&RoomId, &Receipts> = s.receipts.iter().collect();
        let receipts = sorted_rooms
            .into_iter()
            .map(|(room_id, r)| SavedReceipts {
                room_id: room_id.clone(),
                delivered: saved_marks(&r.delivered),
                read: saved_marks(&r.read),
            })
            .collect();
        Ok(Snapshot {
            format: FORMAT,
            users,
            otps,
            refresh_tokens,
            revoked_families: s.revoked_families.clone().into_iter().collect(),
            rooms,
            members,
            messages,
            receipts,
            blocks,
            muted: s.muted.iter().cloned().collect(),
        })
    }

    /// A store holding what `snapshot` saved, with its indexes rebuilt.
    pub fn from_snapshot(snapshot: Snapshot) -> std::result::Result<Self, SnapshotError> {
        if snapshot.format != FORMAT && snapshot.format != 1 {
            return Err(SnapshotError::Format {
                found: snapshot.format,
            });
        }
        let mut s = State::default();
        for user in snapshot.users {
            let by_email = s
                .user_by_email
                .insert(user.email.as_str().to_owned(), user.id.clone());
            let by_name = s
                .user_by_username
                .insert(user.username.key(), user.id.clone());
            if by_email.is_some() || by_name.is_some() {
                return Err(SnapshotError::Inconsistent(format!(
                    "user {} shares an address or name",
                    user.id
                )));
            }
            s.users.insert(user.id.clone(), user);
        }
        for otp in snapshot.otps {
            s.otps.insert(otp.email.as_str().to_owned(), otp);
        }
        for saved in snapshot.refresh_tokens {
            s.refresh.insert(
                saved.token.jti.clone(),
                StoredRefresh {
                    record: saved.token,
                    used: saved.used,
                    successor: saved.successor,
                },
            );
        }
        s.revoked_families = snapshot.revoked_families.into_iter().collect();
        for block in snapshot.blocks {
            s.set_block(&block.blocker, &block.blocked, true, block.at);
        }
        for room in snapshot.rooms {
            s.rooms.insert(room.id.clone(), room);
        }
        for member in &snapshot.members {
            if !s.rooms.contains_key(&member.room_id) {
                return Err(SnapshotError::Inconsistent(format!(
                    "member of unknown room {}",
                    member.room_id
                )));
            }
            s.insert_member(member);
        }
        for (room, user) in snapshot.muted {
            if s.members.get(&room).is_some_and(|m| m.contains_key(&user)) {
                s.muted.insert((room, user));
            }
        }
        for room in s.rooms.values().filter(|r| r.kind == RoomKind::Direct) {
            let pair: Vec<&UserId> = s
                .members
                .get(&room.id)
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            if let [a, b] = pair[..] {
                s.direct_rooms
                    .insert(Room::direct_key(a, b), room.id.clone());
            }
        }
        let mut messages = snapshot.messages;
        if snapshot.format == 1 {
            number_in_old_order(&mut messages);
        }
        for message in messages {
            let key = (message.room_id.clone(), message.id.clone());
            if let Some(client_id) = &message.client_id {
                s.client_ids.insert(
                    (
                        message.room_id.clone(),
                        message.sender_id.clone(),
                        client_id.clone(),
                    ),
                    message.seq,
                );
            }
            s.message_seqs.insert(key, message.seq);
            if message.change > 0 {
                s.changes
                    .entry(message.room_id.clone())
                    .or_default()
                    .insert(message.change, message.seq);
            }
            if let Some(room) = s.rooms.get_mut(&message.room_id) {
                room.last_seq = room.last_seq.max(message.seq);
                if let Some(last) = room.last_message.as_mut().filter(|l| l.id == message.id) {
                    last.seq = message.seq;
                }
            }
            s.messages
                .entry(message.room_id.clone())
                .or_default()
                .insert(message.seq, message);
        }
        for saved in snapshot.receipts {
            let seq_of = |mark: Watermark| match mark {
                Watermark::Seq(seq) => seq,
                Watermark::Id(id) => s
                    .messages
                    .get(&saved.room_id)
                    .and_then(|m| m.values().rev().find(|m| m.id <= id))
                    .map_or(0, |m| m.seq),
            };
            let delivered: HashMap<_, _> = saved
                .delivered
                .into_iter()
                .map(|(user, mark)| (user, seq_of(mark)))
                .collect();
            let read: HashMap<_, _> = saved
                .read
                .into_iter()
                .map(|(user, mark)| (user, seq_of(mark)))
                .collect();
            s.receipts
                .insert(saved.room_id, Receipts { delivered, read });
        }
        Ok(Self {
            state: std::sync::Mutex::new(s),
            commit: None,
        })
    }
}

fn saved_marks(marks: &HashMap<UserId, u64>) -> BTreeMap<UserId, Watermark> {
    marks
        .iter()
        .map(|(user, seq)| (user.clone(), Watermark::Seq(*seq)))
        .collect()
}

/// Numbers the messages of a format-1 file 1, 2, … per room, in the order
/// that format kept them (time, then id).
fn number_in_old_order(messages: &mut [Message]) {
    messages
        .sort_by(|a, b| (&a.room_id, a.created_at, &a.id).cmp(&(&b.room_id, b.created_at, &b.id)));
    let mut next: HashMap<RoomId, u64> = HashMap::new();
    for message in messages {
        let seq = next.entry(message.room_id.clone()).or_insert(0);
        *seq += 1;
        message.seq = *seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MessageBody, Role, RoomName, Username};
    use crate::ports::{
        Append, CreateDirect, MessageStore as _, ReceiptStore as _, RoomStore as _,
        TokenStore as _, UserStore as _,
    };

    fn user(id: &str, name: &str) -> User {
        User {
            id: UserId::from_trusted(id.into()),
            username: Username::from_trusted(name.into()),
            email: Email::from_trusted(format!("{name}@example.com")),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            email_verified: true,
            first_name: Default::default(),
            last_name: Default::default(),
            bio: Default::default(),
            picture_key: Some("pictures/a.png".into()),
            created_at: Timestamp::from_millis(1_000),
            last_seen: None,
            password_changed_at: None,
        }
    }

    fn member(room: &RoomId, user: &str, role: Role) -> Member {
        Member {
            room_id: room.clone(),
            user_id: UserId::from_trusted(user.into()),
            role,
            joined_at: Timestamp::from_millis(2_000),
            username: None,
            muted: None,
        }
    }

    fn room(id: &str, kind: RoomKind) -> Room {
        Room {
            id: RoomId::from_trusted(id.into()),
            kind,
            name: (kind == RoomKind::Group).then(|| RoomName::from_trusted("Team".into())),
            created_by: UserId::from_trusted("U1".into()),
            created_at: Timestamp::from_millis(2_000),
            member_count: 0,
            admin_count: 0,
            last_message: None,
            last_seq: 0,
        }
    }

    /// Everything a user would notice after a restart is still there and
    /// behaves the same: lookups, uniqueness, idempotent retries, sessions.
    #[tokio::test]
    async fn a_restored_store_answers_as_the_saved_one() -> Result<()> {
        let store = MemoryStore::new();
        store.create_user(&user("U1", "alice")).await?;
        store.create_user(&user("U2", "bob")).await?;
        let group = room("R1", RoomKind::Group);
        store
            .create_group(
                &group,
                &[
                    member(&group.id, "U1", Role::Admin),
                    member(&group.id, "U2", Role::Member),
                ],
            )
            .await?;
        let direct = room("R2", RoomKind::Direct);
        store
            .create_direct(
                &direct,
                &[
                    member(&direct.id, "U1", Role::Member),
                    member(&direct.id, "U2", Role::Member),
                ],
            )
            .await?;
        let message = Message {
            id: MessageId::from_trusted("01M8D370WFQ1W1TGEZY87H1KRY".into()),
            room_id: group.id.clone(),
            sender_id: UserId::from_trusted("U1".into()),
            sender_username: Username::from_trusted("alice".into()),
            body: MessageBody::from_trusted("hello".into()),
            created_at: Timestamp::from_millis(3_000),
            client_id: Some("c-1".into()),
            seq: 0,
            edited_at: None,
            deleted_at: None,
            change: 0,
            reactions: Vec::new(),
            attachments: Vec::new(),
        };
        store.append(&message).await?;
        store
            .mark_read(&group.id, &UserId::from_trusted("U2".into()), 1)
            .await?;
        let (u1, u2) = (
            UserId::from_trusted("U1".into()),
            UserId::from_trusted("U2".into()),
        );
        store
            .set_block(&u2, &u1, true, Timestamp::from_millis(4_000))
            .await?;
        let session = RefreshRecord {
            jti: "J1".into(),
            family: "F1".into(),
            user_id: UserId::from_trusted("U1".into()),
            expires_at: Timestamp::from_millis(10_000_000),
        };
        store.put_refresh(&session).await?;

        let saved = serde_json::to_string(&store.snapshot()?)
            .map_err(|e| crate::Error::internal_from("snapshot", e))?;
        let again = serde_json::to_string(&store.snapshot()?)
            .map_err(|e| crate::Error::internal_from("snapshot", e))?;
        assert_eq!(saved, again, "the same state gives the same bytes");
        let snapshot: Snapshot =
            serde_json::from_str(&saved).map_err(|e| crate::Error::internal_from("snapshot", e))?;
        let restored = MemoryStore::from_snapshot(snapshot)
            .map_err(|e| crate::Error::internal_from("snapshot", e))?;

        let alice = restored
            .user_by_email(&Email::from_trusted("alice@example.com".into()))
            .await?;
        assert_eq!(
            alice.map(|u| u.picture_key),
            Some(Some("pictures/a.png".into()))
        );
        assert!(matches!(
            restored.create_user(&user("U3", "ALICE")).await?,
            crate::ports::CreateUser::UsernameTaken
        ));
        let rooms = restored
            .rooms_of(&UserId::from_trusted("U2".into()))
            .await?;
        assert_eq!(rooms.len(), 2);
        let retry = restored
            .create_direct(
                &room("R3", RoomKind::Direct),
                &[
                    member(&RoomId::from_trusted("R3".into()), "U2", Role::Member),
                    member(&RoomId::from_trusted("R3".into()), "U1", Role::Member),
                ],
            )
            .await?;
        assert!(matches!(retry, CreateDirect::Existing(r) if r.id == direct.id));
        let resend = Message {
            id: MessageId::from_trusted("01M8D370WFQ1W1TGEZY87H1KRZ".into()),
            ..message.clone()
        };
        assert!(
            matches!(restored.append(&resend).await?, Append::Duplicate(m) if m.id == message.id)
        );
        assert_eq!(restored.history(&group.id, None, 10).await?.len(), 1);
        let blocks = restored.blocks_of(&u1).await?;
        assert_eq!(blocks.blocked_by, vec![u2.clone()]);
        assert!(restored.blocks_of(&u2).await?.between(&u1));
        let receipts = restored.receipts(&group.id).await?;
        assert_eq!(
            receipts.read.get(&UserId::from_trusted("U2".into())),
            Some(&1)
        );
        let next = RefreshRecord {
            jti: "J2".into(),
            ..session.clone()
        };
        assert!(matches!(
            restored
                .rotate_refresh("J1", &next, Timestamp::from_millis(5_000), "127.0.0.1")
                .await?,
            crate::ports::Rotate::Rotated
        ));
        Ok(())
    }

    #[test]
    fn another_format_is_refused() {
        let mut snapshot = MemoryStore::new().snapshot().expect("snapshot");
        snapshot.format = FORMAT + 1;
        assert!(matches!(
            MemoryStore::from_snapshot(snapshot),
            Err(SnapshotError::Format { .. })
        ));
    }

    /// A file saved before messages had a `seq` still opens: its messages
    /// are numbered in the order it kept them and its watermarks follow.
    #[tokio::test]
    async fn a_format_1_file_is_numbered_in_its_old_order() -> Result<()> {
        let message = |id: &str, at: &str| {
            serde_json::json!({
                "id": id, "room_id": "R1", "sender_id": "U1", "sender_username": "alice",
                "body": "hi", "created_at": at, "client_id": null
            })
        };
        let mut room = serde_json::to_value(room("R1", RoomKind::Group))
            .map_err(|e| crate::Error::internal_from("room", e))?;
        if let Some(fields) = room.as_object_mut() {
            fields.remove("last_seq");
        }
        let old = serde_json::json!({
            "format": 1, "users": [], "otps": [], "refresh_tokens": [],
            "revoked_families": {}, "rooms": [room], "members": [],
            "messages": [message("01B", "2026-01-01T00:00:02.000Z"), message("01A", "2026-01-01T00:00:01.000Z"), message("01C", "2026-01-01T00:00:02.000Z")],
            "receipts": [{"room_id": "R1", "delivered": {"U2": "01B"}, "read": {}}]
        });
        let snapshot: Snapshot =
            serde_json::from_value(old).map_err(|e| crate::Error::internal_from("old", e))?;
        let store = MemoryStore::from_snapshot(snapshot)
            .map_err(|e| crate::Error::internal_from("restore", e))?;
        let room_id = RoomId::from_trusted("R1".into());
        let after = store.after(&room_id, 0, 10).await?;
        let order: Vec<(&str, u64)> = after.iter().map(|m| (m.id.as_str(), m.seq)).collect();
        assert_eq!(order, [("01A", 1), ("01B", 2), ("01C", 3)]);
        let stored = store.room(&room_id).await?.map(|r| r.last_seq);
        assert_eq!(stored, Some(3));
        let receipts = store.receipts(&room_id).await?;
        assert_eq!(
            receipts.delivered.get(&UserId::from_trusted("U2".into())),
            Some(&2)
        );
        Ok(())
    }
}
