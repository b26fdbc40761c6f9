//! Rooms and members. A room's keys share one hash tag, so every change to
//! a room is one script. Each user's list of rooms lives under the user's
//! tag: it is written before a join and cleaned after a leave, so it may
//! name a room the user is not in (checked on read), never miss one.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_core::domain::{Member, MessagePreview, Role, Room, RoomId, Timestamp, UserId};
use chat_core::ports::{AddMember, ChangeMember, CreateDirect, RoomStore};
use chat_core::{Error, Result};

use crate::{from_json, scripts, to_json, RedisStore};

/// A room's stored parts, as read in one round trip.
type RoomParts = (Option<String>, Vec<Option<u64>>, Option<String>);

fn role_of(raw: &str) -> Result<Role> {
    Role::parse(raw).ok_or_else(|| Error::internal(format!("stored role {raw:?} is unknown")))
}

impl RedisStore {
    /// Appends the reads of room `id` to `pipe`: meta, counters, last message.
    fn read_room(&self, pipe: &mut redis::Pipeline, id: &RoomId) {
        pipe.cmd("GET")
            .arg(self.keys.room(id, "meta"))
            .cmd("HMGET")
            .arg(self.keys.room(id, "counters"))
            .arg("member_count")
            .arg("admin_count")
            .arg("last_seq")
            .cmd("GET")
            .arg(self.keys.room(id, "last"));
    }

    /// A room from its parts (None if it does not exist).
    fn room_from(parts: RoomParts) -> Result<Option<Room>> {
        let (meta, counters, last) = parts;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let mut room: Room = from_json(&meta)?;
        let counter = |i: usize| counters.get(i).copied().flatten().unwrap_or(0);
        room.member_count = u32::try_from(counter(0)).unwrap_or(u32::MAX);
        room.admin_count = u32::try_from(counter(1)).unwrap_or(u32::MAX);
        room.last_seq = counter(2);
        room.last_message = last
            .map(|raw| from_json::<MessagePreview>(&raw))
            .transpose()?
            .map(|preview| MessagePreview {
                seq: room.last_seq,
                ..preview
            });
        Ok(Some(room))
    }

    /// Stores a room and its members unless it exists; true if this call created it.
    async fn create_room(&self, room: &Room, members: &[Member]) -> Result<bool> {
        let mut users = redis::pipe();
        for member in members {
            users
                .cmd("SADD")
                .arg(self.keys.user_rooms(&member.user_id))
                .arg(room.id.as_str())
                .ignore();
        }
        self.pipe::<()>("index rooms", &users).await?;
        let bare = Room {
            member_count: 0,
            admin_count: 0,
            last_message: None,
            last_seq: 0,
            ..room.clone()
        };
        let mut invocation = scripts::CREATE_ROOM.prepare_invoke();
        invocation
            .key(self.keys.room(&room.id, "meta"))
            .key(self.keys.room(&room.id, "counters"))
            .key(self.keys.room(&room.id, "roles"))
            .key(self.keys.room(&room.id, "joined"))
            .arg(to_json(&bare)?);
        for member in members {
            invocation
                .arg(member.user_id.as_str())
                .arg(member.role.as_str())
                .arg(member.joined_at.millis());
        }
        let created: i64 = self.script("create room", &invocation).await?;
        Ok(created == 1)
    }

    /// The room, which must exist.
    async fn existing_room(&self, id: &RoomId) -> Result<Room> {
        self.room(id)
            .await?
            .ok_or_else(|| Error::internal(format!("room {id} vanished")))
    }
}

#[async_trait]
impl RoomStore for RedisStore {
    async fn create_group(&self, room: &Room, members: &[Member]) -> Result<()> {
        self.create_room(room, members).await.map(|_| ())
    }

    async fn create_direct(&self, room: &Room, members: &[Member; 2]) -> Result<CreateDirect> {
        let pair = Room::direct_key(&members[0].user_id, &members[1].user_id);
        let claim = self.keys.direct(&pair);
        let claimed: Option<String> = self
            .query(
                "claim direct pair",
                redis::cmd("SET")
                    .arg(&claim)
                    .arg(room.id.as_str())
                    .arg("NX")
                    .arg("GET"),
            )
            .await?;
        match claimed {
            None => {
                self.create_room(room, members).await?;
                Ok(CreateDirect::Created(Box::new(
                    self.existing_room(&room.id).await?,
                )))
            }
            Some(existing) => {
                let existing = RoomId::from_trusted(existing);
                // The pair's first caller may still be creating it, or may have
                // died after its claim: finish the job with the same id.
                let recovered = Room {
                    id: existing.clone(),
                    ..room.clone()
                };
                let members = members.clone().map(|m| Member {
                    room_id: existing.clone(),
                    ..m
                });
                if self.room(&existing).await?.is_none() {
                    self.create_room(&recovered, &members).await?;
                }
                Ok(CreateDirect::Existing(Box::new(
                    self.existing_room(&existing).await?,
                )))
            }
        }
    }

    async fn room(&self, id: &RoomId) -> Result<Option<Room>> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.read_room(&mut pipe, id);
        let parts: RoomParts = self.pipe("read room", &pipe).await?;
        Self::room_from(parts)
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGET")
            .arg(self.keys.room(room, "roles"))
            .arg(user.as_str())
            .cmd("HGET")
            .arg(self.keys.room(room, "joined"))
            .arg(user.as_str());
        let (role, joined): (Option<String>, Option<i64>) = self.pipe("read member", &pipe).await?;
        let (Some(role), Some(joined)) = (role, joined) else {
            return Ok(None);
        };
        Ok(Some(Member {
            room_id: room.clone(),
            user_id: user.clone(),
            role: role_of(&role)?,
            joined_at: Timestamp::from_millis(joined),
            // Not kept here: a send reads the profile (one Redis read).
            username: None,
            muted: None,
        }))
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<Member>> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGETALL")
            .arg(self.keys.room(room, "roles"))
            .cmd("HGETALL")
            .arg(self.keys.room(room, "joined"));
        let (roles, joined): (HashMap<String, String>, HashMap<String, i64>) =
            self.pipe("read members", &pipe).await?;
        let mut out = Vec::with_capacity(roles.len());
        for (user, role) in roles {
            let joined_at = Timestamp::from_millis(joined.get(&user).copied().unwrap_or(0));
            out.push(Member {
                room_id: room.clone(),
                user_id: UserId::from_trusted(user),
                role: role_of(&role)?,
                joined_at,
                username: None,
                muted: None,
            });
        }
        out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok(out)
    }

    async fn rooms_of(&self, user: &UserId) -> Result<Vec<Room>> {
        let index = self.keys.user_rooms(user);
        let ids: Vec<String> = self
            .query("SMEMBERS", redis::cmd("SMEMBERS").arg(&index))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<RoomId> = ids.into_iter().map(RoomId::from_trusted).collect();
        let mut pipe = redis::pipe();
        for id in &ids {
            self.read_room(&mut pipe, id);
            pipe.cmd("HEXISTS")
                .arg(self.keys.room(id, "roles"))
                .arg(user.as_str());
        }
        let values: Vec<redis::Value> = self.pipe("read rooms", &pipe).await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in values.chunks(4) {
            let [meta, counters, last, member] = chunk else {
                return Err(Error::internal("short answer reading rooms"));
            };
            let parts: RoomParts = (
                redis::from_redis_value(meta).map_err(|e| Error::internal_from("room", e))?,
                redis::from_redis_value(counters).map_err(|e| Error::internal_from("room", e))?,
                redis::from_redis_value(last).map_err(|e| Error::internal_from("room", e))?,
            );
            let member: bool =
                redis::from_redis_value(member).map_err(|e| Error::internal_from("room", e))?;
            // Skipped, not cleaned: a join in progress has indexed the room
            // before its script ran, and cleaning here would lose it.
            if let (Some(room), true) = (Self::room_from(parts)?, member) {
                out.push(room);
            }
        }
        Ok(out)
    }

    async fn add_member(&self, member: &Member, limit: u32) -> Result<AddMember> {
        let index = self.keys.user_rooms(&member.user_id);
        self.query::<()>(
            "index room",
            redis::cmd("SADD").arg(&index).arg(member.room_id.as_str()),
        )
        .await?;
        let room = &member.room_id;
        let outcome: i64 = self
            .script(
                "add member",
                scripts::ADD_MEMBER
                    .key(self.keys.room(room, "meta"))
                    .key(self.keys.room(room, "counters"))
                    .key(self.keys.room(room, "roles"))
                    .key(self.keys.room(room, "joined"))
                    .arg(member.user_id.as_str())
                    .arg(member.role.as_str())
                    .arg(member.joined_at.millis())
                    .arg(limit),
            )
            .await?;
        Ok(match outcome {
            0 => AddMember::Added,
            1 => AddMember::AlreadyMember,
            3 => AddMember::Full,
            _ => AddMember::NoRoom,
        })
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> Result<ChangeMember> {
        let outcome: i64 = self
            .script(
                "remove member",
                scripts::REMOVE_MEMBER
                    .key(self.keys.room(room, "counters"))
                    .key(self.keys.room(room, "roles"))
                    .key(self.keys.room(room, "joined"))
                    .key(self.keys.room(room, "muted"))
                    .arg(user.as_str()),
            )
            .await?;
        Ok(match outcome {
            0 => {
                // The index may keep the room if this fails: it is checked on read.
                let _: Result<()> = self
                    .query(
                        "unindex room",
                        redis::cmd("SREM")
                            .arg(self.keys.user_rooms(user))
                            .arg(room.as_str()),
                    )
                    .await;
                ChangeMember::Done
            }
            1 => ChangeMember::NotMember,
            _ => ChangeMember::LastAdmin,
        })
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> Result<ChangeMember> {
        let outcome: i64 = self
            .script(
                "set muted",
                scripts::SET_MUTED
                    .key(self.keys.room(room, "roles"))
                    .key(self.keys.room(room, "muted"))
                    .arg(user.as_str())
                    .arg(if muted { "1" } else { "0" }),
            )
            .await?;
        Ok(if outcome == 0 {
            ChangeMember::Done
        } else {
            ChangeMember::NotMember
        })
    }

    async fn muted_among(
        &self,
        user: &UserId,
        rooms: &[RoomId],
    ) -> Result<std::collections::HashSet<RoomId>> {
        if rooms.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.cmd("SISMEMBER")
                .arg(self.keys.room(room, "muted"))
                .arg(user.as_str());
        }
        let flags: Vec<bool> = self.pipe("read muted rooms", &pipe).await?;
        Ok(rooms
            .iter()
            .zip(flags)
            .filter(|(_, muted)| *muted)
            .map(|(room, _)| room.clone())
            .collect())
    }

    async fn set_role(&self, room: &RoomId, user: &UserId, role: Role) -> Result<ChangeMember> {
        let outcome: i64 = self
            .script(
                "set role",
                scripts::SET_ROLE
                    .key(self.keys.room(room, "counters"))
                    .key(self.keys.room(room, "roles"))
                    .arg(user.as_str())
                    .arg(role.as_str()),
            )
            .await?;
        Ok(match outcome {
            0 => ChangeMember::Done,
            1 => ChangeMember::NotMember,
            _ => ChangeMember::LastAdmin,
        })
    }
}
