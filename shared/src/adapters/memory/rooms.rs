//! Rooms, direct pairs and members.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::domain::{Member, Role, Room, RoomId, UserId, Username};
use crate::ports::{AddMember, ChangeMember, CreateDirect, RoomStore};
use crate::Result;

use super::MemoryStore;

#[async_trait]
impl RoomStore for MemoryStore {
    async fn create_group(&self, room: &Room, members: &[Member]) -> Result<()> {
        self.write(|| {
            let mut s = self.lock()?;
            let mut room = room.clone();
            room.member_count = u32::try_from(members.len()).unwrap_or(u32::MAX);
            room.admin_count =
                u32::try_from(members.iter().filter(|m| m.role == Role::Admin).count())
                    .unwrap_or(u32::MAX);
            s.rooms.insert(room.id.clone(), room);
            for member in members {
                s.insert_member(member);
            }
            Ok(())
        })
        .await
    }

    async fn create_direct(&self, room: &Room, members: &[Member; 2]) -> Result<CreateDirect> {
        self.write(|| {
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
        })
        .await
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

    async fn add_member(&self, member: &Member, limit: u32) -> Result<AddMember> {
        self.write(|| {
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
            if room.member_count >= limit {
                return Ok(AddMember::Full);
            }
            room.member_count += 1;
            if member.role == Role::Admin {
                room.admin_count += 1;
            }
            s.insert_member(member);
            Ok(AddMember::Added)
        })
        .await
    }

    async fn remove_member(&self, room_id: &RoomId, user: &UserId) -> Result<ChangeMember> {
        self.write(|| {
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
            s.muted.remove(&(room_id.clone(), user.clone()));
            Ok(ChangeMember::Done)
        })
        .await
    }

    async fn set_member_username(&self, user: &UserId, username: &Username) -> Result<()> {
        self.write(|| {
            let mut s = self.lock()?;
            for member in s.members.values_mut().filter_map(|m| m.get_mut(user)) {
                member.username = Some(username.clone());
            }
            Ok(())
        })
        .await
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> Result<ChangeMember> {
        self.write(|| {
            let mut s = self.lock()?;
            if !s.members.get(room).is_some_and(|m| m.contains_key(user)) {
                return Ok(ChangeMember::NotMember);
            }
            let key = (room.clone(), user.clone());
            if muted {
                s.muted.insert(key);
            } else {
                s.muted.remove(&key);
            }
            Ok(ChangeMember::Done)
        })
        .await
    }

    async fn muted_among(&self, user: &UserId, rooms: &[RoomId]) -> Result<HashSet<RoomId>> {
        let s = self.lock()?;
        Ok(rooms
            .iter()
            .filter(|r| s.muted.contains(&((*r).clone(), user.clone())))
            .cloned()
            .collect())
    }

    async fn set_role(&self, room_id: &RoomId, user: &UserId, role: Role) -> Result<ChangeMember> {
        self.write(|| {
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
        })
        .await
    }
}
