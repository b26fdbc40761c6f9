use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::{
    Connection, Email, Member, Message, MessageId, ProfileUpdate, Role, Room, RoomId, Timestamp,
    User, UserId, Username,
};
use crate::ports::{
    AddMember, Append, ChangeMember, ConnectionStore, CreateDirect, CreateUser, HistoryCursor,
    MessageStore, OtpRecord, OtpStore, RateDecision, RateLimiter, RateWindow, ReceiptStore,
    Receipts, RefreshRecord, RoomStore, Rotate, TokenStore, UpdateProfile, UserStore,
};
use crate::{Error, Result};

mod snapshot;

pub use snapshot::{Snapshot, SnapshotError};

/// Above this many rate-limit windows, expired ones are swept.
const RATE_SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    user_by_email: HashMap<String, UserId>,
    user_by_username: HashMap<String, UserId>,
    otps: HashMap<String, OtpRecord>,
    refresh: HashMap<String, (RefreshRecord, bool)>,
    revoked_families: HashMap<String, Timestamp>,
    /// (key, window start in seconds) → (hits, window end).
    rate: HashMap<(String, i64), (u32, Timestamp)>,
    rooms: HashMap<RoomId, Room>,
    direct_rooms: HashMap<String, RoomId>,
    members: HashMap<RoomId, BTreeMap<UserId, Member>>,
    rooms_by_user: HashMap<UserId, BTreeSet<RoomId>>,
    messages: HashMap<RoomId, BTreeMap<(Timestamp, MessageId), Message>>,
    client_ids: HashMap<(RoomId, UserId, String), (Timestamp, MessageId)>,
    connections: HashMap<String, Connection>,
    connections_by_user: HashMap<UserId, BTreeSet<String>>,
    receipts: HashMap<RoomId, Receipts>,
}

impl State {
    fn live_connections_of(&self, user: &UserId, now: Timestamp) -> usize {
        self.connections_by_user.get(user).map_or(0, |ids| {
            ids.iter()
                .filter(|id| self.connections.get(*id).is_some_and(|c| c.is_live(now)))
                .count()
        })
    }

    fn insert_member(&mut self, member: &Member) {
        self.members
            .entry(member.room_id.clone())
            .or_default()
            .insert(member.user_id.clone(), member.clone());
        self.rooms_by_user
            .entry(member.user_id.clone())
            .or_default()
            .insert(member.room_id.clone());
    }
}

/// Every store port in one process-local, mutex-guarded state. Each
/// operation takes the lock once, so each is atomic like its DynamoDB twin.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::internal("memory store lock poisoned"))
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<CreateUser> {
        let mut s = self.lock()?;
        if s.user_by_email.contains_key(user.email.as_str()) {
            return Ok(CreateUser::EmailTaken);
        }
        let username_key = user.username.key();
        if s.user_by_username.contains_key(&username_key) {
            return Ok(CreateUser::UsernameTaken);
        }
        s.user_by_email
            .insert(user.email.as_str().to_owned(), user.id.clone());
        s.user_by_username.insert(username_key, user.id.clone());
        s.users.insert(user.id.clone(), user.clone());
        Ok(CreateUser::Created)
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        Ok(self.lock()?.users.get(id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let s = self.lock()?;
        Ok(s.user_by_email
            .get(email.as_str())
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>> {
        let s = self.lock()?;
        Ok(s.user_by_username
            .get(&username.key())
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let s = self.lock()?;
        let unique: BTreeSet<&UserId> = ids.iter().collect();
        Ok(unique
            .into_iter()
            .filter_map(|id| s.users.get(id).cloned())
            .collect())
    }

    async fn mark_verified(&self, id: &UserId) -> Result<()> {
        if let Some(user) = self.lock()?.users.get_mut(id) {
            user.email_verified = true;
        }
        Ok(())
    }

    async fn update_profile(&self, id: &UserId, update: &ProfileUpdate) -> Result<UpdateProfile> {
        let mut s = self.lock()?;
        let Some(current) = s.users.get(id).cloned() else {
            return Ok(UpdateProfile::NotFound);
        };
        if let Some(new_name) = &update.username {
            let new_key = new_name.key();
            let old_key = current.username.key();
            if new_key != old_key {
                if s.user_by_username.contains_key(&new_key) {
                    return Ok(UpdateProfile::UsernameTaken);
                }
                s.user_by_username.remove(&old_key);
                s.user_by_username.insert(new_key, id.clone());
            }
        }
        let mut user = current;
        update.apply_to(&mut user);
        s.users.insert(id.clone(), user.clone());
        Ok(UpdateProfile::Updated(Box::new(user)))
    }

    async fn set_last_seen(&self, id: &UserId, at: Timestamp) -> Result<()> {
        if let Some(user) = self.lock()?.users.get_mut(id) {
            user.last_seen = Some(at);
        }
        Ok(())
    }
}

#[async_trait]
impl OtpStore for MemoryStore {
    async fn put_otp(&self, otp: &OtpRecord) -> Result<()> {
        self.lock()?
            .otps
            .insert(otp.email.as_str().to_owned(), otp.clone());
        Ok(())
    }

    async fn take_attempt(
        &self,
        email: &Email,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<Option<OtpRecord>> {
        let mut s = self.lock()?;
        let Some(record) = s.otps.get_mut(email.as_str()) else {
            return Ok(None);
        };
        if record.expires_at <= now || record.attempts >= max_attempts {
            return Ok(None);
        }
        let before = record.clone();
        record.attempts += 1;
        Ok(Some(before))
    }

    async fn delete_otp(&self, email: &Email) -> Result<()> {
        self.lock()?.otps.remove(email.as_str());
        Ok(())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<()> {
        self.lock()?
            .refresh
            .insert(record.jti.clone(), (record.clone(), false));
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        new: &RefreshRecord,
        now: Timestamp,
    ) -> Result<Rotate> {
        let mut s = self.lock()?;
        let revoked = s
            .revoked_families
            .get(&new.family)
            .is_some_and(|until| *until > now);
        let Some((old, used)) = s.refresh.get_mut(old_jti) else {
            return Ok(Rotate::Invalid);
        };
        if old.family != new.family || old.expires_at <= now || revoked {
            return Ok(Rotate::Invalid);
        }
        if *used {
            return Ok(Rotate::Reused);
        }
        *used = true;
        s.refresh.insert(new.jti.clone(), (new.clone(), false));
        Ok(Rotate::Rotated)
    }

    async fn revoke_family(&self, family: &str, until: Timestamp) -> Result<()> {
        self.lock()?
            .revoked_families
            .insert(family.to_owned(), until);
        Ok(())
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(
        &self,
        key: &str,
        window_secs: u64,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision> {
        let window = RateWindow::containing(now, window_secs);
        let mut s = self.lock()?;
        if s.rate.len() > RATE_SWEEP_THRESHOLD {
            s.rate.retain(|_, (_, window_end)| *window_end > now);
        }
        let entry = s
            .rate
            .entry((key.to_owned(), window.start_secs))
            .or_insert((0, window.end));
        if entry.0 >= limit {
            return Ok(RateDecision::Limited {
                retry_after_secs: window.retry_after_secs,
            });
        }
        entry.0 += 1;
        Ok(RateDecision::Allowed)
    }
}

#[async_trait]
impl RoomStore for MemoryStore {
    async fn create_group(&self, room: &Room, members: &[Member]) -> Result<()> {
        let mut s = self.lock()?;
        let mut room = room.clone();
        room.member_count = u32::try_from(members.len()).unwrap_or(u32::MAX);
        room.admin_count = u32::try_from(members.iter().filter(|m| m.role == Role::Admin).count())
            .unwrap_or(u32::MAX);
        s.rooms.insert(room.id.clone(), room);
        for member in members {
            s.insert_member(member);
        }
        Ok(())
    }

    async fn create_direct(&self, room: &Room, members: &[Member; 2]) -> Result<CreateDirect> {
        let mut s = self.lock()?;
        let key = Room::direct_key(&members[0].user_id, &members[1].user_id);
        if let Some(existing) = s.direct_rooms.get(&key).and_then(|id| s.rooms.get(id)) {
            return Ok(CreateDirect::Existing(Box::new(existing.clone())));
        }
        let mut room = room.clone();
        room.member_count = 2;
        room.admin_count = 0;
        s.direct_rooms.insert(key, room.id.clone());
        s.rooms.insert(room.id.clone(), room.clone());
        for member in members {
            s.insert_member(member);
        }
        Ok(CreateDirect::Created(Box::new(room)))
    }

    async fn room(&self, id: &RoomId) -> Result<Option<Room>> {
        Ok(self.lock()?.rooms.get(id).cloned())
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>> {
        Ok(self
            .lock()?
            .members
            .get(room)
            .and_then(|m| m.get(user))
            .cloned())
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<Member>> {
        Ok(self
            .lock()?
            .members
            .get(room)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn rooms_of(&self, user: &UserId) -> Result<Vec<Room>> {
        let s = self.lock()?;
        Ok(s.rooms_by_user
            .get(user)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| s.rooms.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn add_member(&self, member: &Member) -> Result<AddMember> {
        let mut s = self.lock()?;
        let already = s
            .members
            .get(&member.room_id)
            .is_some_and(|m| m.contains_key(&member.user_id));
        let Some(room) = s.rooms.get_mut(&member.room_id) else {
            return Ok(AddMember::NoRoom);
        };
        if already {
            return Ok(AddMember::AlreadyMember);
        }
        room.member_count += 1;
        if member.role == Role::Admin {
            room.admin_count += 1;
        }
        s.insert_member(member);
        Ok(AddMember::Added)
    }

    async fn remove_member(&self, room_id: &RoomId, user: &UserId) -> Result<ChangeMember> {
        let mut s = self.lock()?;
        let Some(member) = s.members.get(room_id).and_then(|m| m.get(user)).cloned() else {
            return Ok(ChangeMember::NotMember);
        };
        let Some(room) = s.rooms.get_mut(room_id) else {
            return Ok(ChangeMember::NotMember);
        };
        let leaves_adminless =
            member.role == Role::Admin && room.admin_count == 1 && room.member_count > 1;
        if leaves_adminless {
            return Ok(ChangeMember::LastAdmin);
        }
        room.member_count -= 1;
        if member.role == Role::Admin {
            room.admin_count -= 1;
        }
        if let Some(m) = s.members.get_mut(room_id) {
            m.remove(user);
        }
        if let Some(r) = s.rooms_by_user.get_mut(user) {
            r.remove(room_id);
        }
        Ok(ChangeMember::Done)
    }

    async fn set_role(&self, room_id: &RoomId, user: &UserId, role: Role) -> Result<ChangeMember> {
        let mut s = self.lock()?;
        let Some(current) = s
            .members
            .get(room_id)
            .and_then(|m| m.get(user))
            .map(|m| m.role)
        else {
            return Ok(ChangeMember::NotMember);
        };
        let Some(room) = s.rooms.get_mut(room_id) else {
            return Ok(ChangeMember::NotMember);
        };
        match (current, role) {
            (Role::Admin, Role::Member) if room.admin_count == 1 => {
                return Ok(ChangeMember::LastAdmin)
            }
            (Role::Admin, Role::Member) => room.admin_count -= 1,
            (Role::Member, Role::Admin) => room.admin_count += 1,
            _ => {}
        }
        if let Some(m) = s.members.get_mut(room_id).and_then(|m| m.get_mut(user)) {
            m.role = role;
        }
        Ok(ChangeMember::Done)
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append(&self, message: &Message) -> Result<Append> {
        let mut s = self.lock()?;
        if let Some(client_id) = &message.client_id {
            let key = (
                message.room_id.clone(),
                message.sender_id.clone(),
                client_id.clone(),
            );
            if let Some(existing_key) = s.client_ids.get(&key) {
                let existing = s
                    .messages
                    .get(&message.room_id)
                    .and_then(|m| m.get(existing_key))
                    .cloned()
                    .ok_or_else(|| Error::internal("client id without message"))?;
                return Ok(Append::Duplicate(Box::new(existing)));
            }
            s.client_ids
                .insert(key, (message.created_at, message.id.clone()));
        }
        let Some(room) = s.rooms.get_mut(&message.room_id) else {
            return Err(Error::room_not_found());
        };
        let newer = room
            .last_message
            .as_ref()
            .is_none_or(|last| (last.created_at, &last.id) < (message.created_at, &message.id));
        if newer {
            room.last_message = Some(message.preview());
        }
        s.messages
            .entry(message.room_id.clone())
            .or_default()
            .insert((message.created_at, message.id.clone()), message.clone());
        Ok(Append::Stored)
    }

    async fn message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>> {
        Ok(self
            .lock()?
            .messages
            .get(room)
            .and_then(|m| m.values().find(|m| &m.id == id))
            .cloned())
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<&HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let s = self.lock()?;
        let Some(messages) = s.messages.get(room) else {
            return Ok(Vec::new());
        };
        let page = match before {
            Some(cursor) => messages
                .range(..(cursor.created_at, cursor.id.clone()))
                .rev()
                .take(limit)
                .map(|(_, m)| m.clone())
                .collect(),
            None => messages.values().rev().take(limit).cloned().collect(),
        };
        Ok(page)
    }
}

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn add_connection(&self, connection: &Connection, now: Timestamp) -> Result<usize> {
        let mut s = self.lock()?;
        s.connections
            .insert(connection.id.clone(), connection.clone());
        s.connections_by_user
            .entry(connection.user_id.clone())
            .or_default()
            .insert(connection.id.clone());
        Ok(s.live_connections_of(&connection.user_id, now))
    }

    async fn remove_connection(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Connection, usize)>> {
        let mut s = self.lock()?;
        let Some(connection) = s.connections.remove(id) else {
            return Ok(None);
        };
        if let Some(ids) = s.connections_by_user.get_mut(&connection.user_id) {
            ids.remove(id);
        }
        let remaining = s.live_connections_of(&connection.user_id, now);
        Ok(Some((connection, remaining)))
    }

    async fn connection(&self, id: &str, now: Timestamp) -> Result<Option<Connection>> {
        Ok(self
            .lock()?
            .connections
            .get(id)
            .filter(|c| c.is_live(now))
            .cloned())
    }

    async fn connections_of(&self, users: &[UserId], now: Timestamp) -> Result<Vec<Connection>> {
        let s = self.lock()?;
        let unique: BTreeSet<&UserId> = users.iter().collect();
        Ok(unique
            .into_iter()
            .filter_map(|u| s.connections_by_user.get(u))
            .flatten()
            .filter_map(|id| s.connections.get(id))
            .filter(|c| c.is_live(now))
            .cloned()
            .collect())
    }
}

/// Raises `slot` to `upto`; true if it moved.
fn raise(slot: &mut HashMap<UserId, MessageId>, user: &UserId, upto: &MessageId) -> bool {
    match slot.get(user) {
        Some(current) if current >= upto => false,
        _ => {
            slot.insert(user.clone(), upto.clone());
            true
        }
    }
}

#[async_trait]
impl ReceiptStore for MemoryStore {
    async fn mark_delivered(
        &self,
        room: &RoomId,
        users: &[UserId],
        upto: &MessageId,
    ) -> Result<()> {
        let mut s = self.lock()?;
        let receipts = s.receipts.entry(room.clone()).or_default();
        for user in users {
            raise(&mut receipts.delivered, user, upto);
        }
        Ok(())
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, upto: &MessageId) -> Result<bool> {
        let mut s = self.lock()?;
        let receipts = s.receipts.entry(room.clone()).or_default();
        raise(&mut receipts.delivered, user, upto);
        Ok(raise(&mut receipts.read, user, upto))
    }

    async fn receipts(&self, room: &RoomId) -> Result<Receipts> {
        Ok(self.lock()?.receipts.get(room).cloned().unwrap_or_default())
    }
}
