use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chat_core::domain::{
    Member, MessageBody, MessageId, MessagePreview, Role, Room, RoomId, RoomKind, RoomName, UserId,
    Username,
};
use chat_core::ports::{AddMember, ChangeMember, CreateDirect, RoomStore};
use chat_core::{Error, Result};

use super::item::{self, failed_at, n, s, ts, Item};
use super::keys::{direct_pk, member_sk, room_pk, user_pk, DIRECT, MEMBER_PREFIX, META};
use super::DynamoStore;
use crate::sdk_error::{build_error, is_conditional_check_failed, translate};
use crate::table::{GSI1, GSI1_PK, GSI1_SK, SK};

/// Most actions in one DynamoDB transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Retries of a member change that raced with another one.
const CHANGE_ATTEMPTS: usize = 3;

fn room_item(room: &Room) -> Item {
    let mut out = item::key(&room_pk(&room.id), META);
    out.insert("id".into(), s(room.id.as_str()));
    out.insert("kind".into(), s(room.kind.as_str()));
    if let Some(name) = &room.name {
        out.insert("name".into(), s(name.as_str()));
    }
    out.insert("created_by".into(), s(room.created_by.as_str()));
    out.insert("created_at".into(), ts(room.created_at));
    out.insert("member_count".into(), n(room.member_count));
    out.insert("admin_count".into(), n(room.admin_count));
    out
}

fn room_from(item: &Item) -> Result<Room> {
    let kind = match item::get_s(item, "kind")?.as_str() {
        "direct" => RoomKind::Direct,
        "group" => RoomKind::Group,
        other => {
            return Err(Error::internal(format!(
                "stored room has an unknown kind {other:?}"
            )))
        }
    };
    let last_message = match item.get("last_message") {
        Some(AttributeValue::M(m)) => Some(MessagePreview {
            id: MessageId::from_trusted(item::get_s(m, "id")?),
            sender_id: UserId::from_trusted(item::get_s(m, "sender_id")?),
            sender_username: Username::from_trusted(item::get_s(m, "sender_username")?),
            body: MessageBody::from_trusted(item::get_s(m, "body")?),
            created_at: item::get_ts(m, "created_at")?,
            seq: item::get_n(m, "seq")?,
        }),
        _ => None,
    };
    Ok(Room {
        id: RoomId::from_trusted(item::get_s(item, "id")?),
        kind,
        name: item::opt_s(item, "name").map(RoomName::from_trusted),
        created_by: UserId::from_trusted(item::get_s(item, "created_by")?),
        created_at: item::get_ts(item, "created_at")?,
        member_count: item::get_n(item, "member_count")?,
        admin_count: item::get_n(item, "admin_count")?,
        last_message,
        last_seq: item::opt_n(item, "last_seq").unwrap_or(0),
    })
}

fn member_item(m: &Member) -> Item {
    let mut out = item::key(&room_pk(&m.room_id), &member_sk(&m.user_id));
    out.insert("room_id".into(), s(m.room_id.as_str()));
    out.insert("user_id".into(), s(m.user_id.as_str()));
    out.insert("role".into(), s(m.role.as_str()));
    out.insert("joined_at".into(), ts(m.joined_at));
    if let Some(username) = &m.username {
        out.insert("username".into(), s(username.as_str()));
    }
    out.insert(GSI1_PK.into(), s(user_pk(&m.user_id)));
    out.insert(GSI1_SK.into(), s(room_pk(&m.room_id)));
    out
}

fn member_from(item: &Item) -> Result<Member> {
    Ok(Member {
        room_id: RoomId::from_trusted(item::get_s(item, "room_id")?),
        user_id: UserId::from_trusted(item::get_s(item, "user_id")?),
        role: {
            let role = item::get_s(item, "role")?;
            Role::parse(&role).ok_or_else(|| {
                Error::internal(format!("stored member has an unknown role {role:?}"))
            })?
        },
        joined_at: item::get_ts(item, "joined_at")?,
        username: item::opt_s(item, "username").map(Username::from_trusted),
        muted: Some(item::get_bool(item, "muted")),
    })
}

fn put_new(table: &str, item: Item) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)?,
        )
        .build())
}

impl DynamoStore {
    async fn create_room(
        &self,
        room: &Room,
        members: &[Member],
        extra: Option<TransactWriteItem>,
    ) -> Result<Result<(), Vec<String>>> {
        if members.len() + 2 > MAX_TRANSACTION_ITEMS {
            return Err(Error::BadRequest(format!(
                "At most {} members can be added when a room is created.",
                MAX_TRANSACTION_ITEMS - 2
            )));
        }
        let mut request = self.client.transact_write_items();
        if let Some(extra) = extra {
            request = request.transact_items(extra);
        }
        // The counts follow from the members, as in every other adapter.
        let mut room = room.clone();
        room.member_count = u32::try_from(members.len()).unwrap_or(u32::MAX);
        room.admin_count = u32::try_from(members.iter().filter(|m| m.role == Role::Admin).count())
            .unwrap_or(u32::MAX);
        request = request.transact_items(put_new(&self.table, room_item(&room))?);
        for member in members {
            request = request.transact_items(put_new(&self.table, member_item(member))?);
        }
        item::transact(request).await
    }

    /// Applies a member change and the room counters' change in one
    /// transaction. `room_condition` guards the counters (e.g. keeps an admin).
    async fn change_member(
        &self,
        member_action: TransactWriteItem,
        room: &RoomId,
        counter_update: &str,
        room_condition: &str,
        values: Item,
    ) -> Result<Result<(), Vec<String>>> {
        let update_room = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&room_pk(room), META)))
            .update_expression(counter_update)
            .condition_expression(room_condition)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        item::transact(
            self.client
                .transact_write_items()
                .transact_items(member_action)
                .transact_items(TransactWriteItem::builder().update(update_room).build()),
        )
        .await
    }
}

/// Membership updates a rename keeps in flight at once.
const RENAME_CONCURRENCY: usize = 16;

impl DynamoStore {
    /// The partition keys (`ROOM#<id>`) of the rooms `user` is a member of,
    /// from the memberships index.
    async fn membership_rooms(&self, user: &UserId) -> Result<Vec<String>> {
        let mut rooms = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :u")
                .expression_attribute_values(":u", s(user_pk(user)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| translate("Query", e))?;
            for i in page.items() {
                rooms.push(item::get_s(i, GSI1_SK)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(rooms)
    }
}

#[async_trait]
impl RoomStore for DynamoStore {
    async fn create_group(&self, room: &Room, members: &[Member]) -> Result<()> {
        match self.create_room(room, members, None).await? {
            Ok(()) => Ok(()),
            Err(codes) => Err(Error::internal(format!("room creation refused: {codes:?}"))),
        }
    }

    async fn create_direct(&self, room: &Room, members: &[Member; 2]) -> Result<CreateDirect> {
        let pair = Room::direct_key(&members[0].user_id, &members[1].user_id);
        let pair_pk = direct_pk(&pair);
        let mut claim = item::key(&pair_pk, DIRECT);
        claim.insert("room_id".into(), s(room.id.as_str()));
        match self
            .create_room(room, members, Some(put_new(&self.table, claim)?))
            .await?
        {
            Ok(()) => Ok(CreateDirect::Created(Box::new(room.clone()))),
            Err(codes) if failed_at(&codes, 0) => {
                let claim = self
                    .get(&pair_pk, DIRECT)
                    .await?
                    .ok_or_else(|| Error::unavailable("direct room claim vanished"))?;
                let existing = RoomId::from_trusted(item::get_s(&claim, "room_id")?);
                let room = self
                    .room(&existing)
                    .await?
                    .ok_or_else(|| Error::unavailable("direct room not visible yet"))?;
                Ok(CreateDirect::Existing(Box::new(room)))
            }
            Err(codes) => Err(Error::internal(format!("direct room refused: {codes:?}"))),
        }
    }

    async fn room(&self, id: &RoomId) -> Result<Option<Room>> {
        self.get(&room_pk(id), META)
            .await?
            .map(|i| room_from(&i))
            .transpose()
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>> {
        self.get(&room_pk(room), &member_sk(user))
            .await?
            .map(|i| member_from(&i))
            .transpose()
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<Member>> {
        self.query_prefix(&room_pk(room), MEMBER_PREFIX)
            .await?
            .iter()
            .map(member_from)
            .collect()
    }

    async fn room_and_members(&self, id: &RoomId) -> Result<Option<(Room, Vec<Member>)>> {
        // The room's item (`META`) sorts right after its members
        // (`MEMBER#…`), so that one query reads both.
        let items = self
            .query_between(&room_pk(id), MEMBER_PREFIX, META)
            .await?;
        let mut room = None;
        let mut members = Vec::with_capacity(items.len());
        for item in &items {
            if item::opt_s(item, SK).as_deref() == Some(META) {
                room = Some(room_from(item)?);
            } else {
                members.push(member_from(item)?);
            }
        }
        Ok(room.map(|room| (room, members)))
    }

    async fn rooms_of(&self, user: &UserId) -> Result<Vec<Room>> {
        let keys = self
            .membership_rooms(user)
            .await?
            .into_iter()
            .map(|room| (room, META.to_owned()))
            .collect();
        self.batch_get(keys).await?.iter().map(room_from).collect()
    }

    async fn set_member_username(&self, user: &UserId, username: &Username) -> Result<()> {
        use futures_util::{StreamExt, TryStreamExt};
        let rooms = self.membership_rooms(user).await?;
        futures_util::stream::iter(rooms)
            .map(|room| async move {
                // A membership that went meanwhile stays gone.
                self.set_if_exists(&room, &member_sk(user), "username", s(username.as_str()))
                    .await
            })
            // A user in many rooms: a few updates in flight, not one at a time.
            .buffer_unordered(RENAME_CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    async fn add_member(&self, member: &Member, limit: u32) -> Result<AddMember> {
        let admin = i32::from(member.role == Role::Admin);
        let outcome = self
            .change_member(
                put_new(&self.table, member_item(member))?,
                &member.room_id,
                "SET member_count = member_count + :one, admin_count = admin_count + :admin",
                "attribute_exists(pk) AND member_count < :limit",
                Item::from([
                    (":one".into(), n(1)),
                    (":admin".into(), n(admin)),
                    (":limit".into(), n(limit)),
                ]),
            )
            .await?;
        match outcome {
            Ok(()) => Ok(AddMember::Added),
            Err(codes) if failed_at(&codes, 0) => Ok(AddMember::AlreadyMember),
            Err(codes) if failed_at(&codes, 1) => {
                // The room is gone or full: which one, a read says.
                Ok(match self.room(&member.room_id).await? {
                    None => AddMember::NoRoom,
                    Some(_) => AddMember::Full,
                })
            }
            Err(codes) => Err(Error::internal(format!("add member refused: {codes:?}"))),
        }
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> Result<ChangeMember> {
        for _ in 0..CHANGE_ATTEMPTS {
            let Some(member) = self.member(room, user).await? else {
                return Ok(ChangeMember::NotMember);
            };
            let is_admin = member.role == Role::Admin;
            let delete = TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::key(&room_pk(room), &member_sk(user))))
                        .condition_expression("#role = :role")
                        .expression_attribute_names("#role", "role")
                        .expression_attribute_values(":role", s(member.role.as_str()))
                        .build()
                        .map_err(build_error)?,
                )
                .build();
            // An admin may leave if another admin stays, or if nobody else does.
            let condition = if is_admin {
                "attribute_exists(pk) AND (admin_count > :one OR member_count = :one)"
            } else {
                "attribute_exists(pk)"
            };
            let outcome = self
                .change_member(
                    delete,
                    room,
                    "SET member_count = member_count - :one, admin_count = admin_count - :admin",
                    condition,
                    Item::from([
                        (":one".into(), n(1)),
                        (":admin".into(), n(i32::from(is_admin))),
                    ]),
                )
                .await?;
            match outcome {
                Ok(()) => return Ok(ChangeMember::Done),
                Err(codes) if failed_at(&codes, 1) => return Ok(ChangeMember::LastAdmin),
                Err(_) => continue, // the role changed meanwhile: look again
            }
        }
        Err(Error::unavailable("membership kept changing; try again"))
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> Result<ChangeMember> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key(&room_pk(room), &member_sk(user))))
            .condition_expression("attribute_exists(pk)");
        let update = if muted {
            update
                .update_expression("SET muted = :yes")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
        } else {
            update.update_expression("REMOVE muted")
        };
        match update.send().await {
            Ok(_) => Ok(ChangeMember::Done),
            Err(e) if is_conditional_check_failed(&e) => Ok(ChangeMember::NotMember),
            Err(e) => Err(translate("UpdateItem", e)),
        }
    }

    async fn muted_among(&self, user: &UserId, rooms: &[RoomId]) -> Result<HashSet<RoomId>> {
        let keys = rooms
            .iter()
            .map(|room| (room_pk(room), member_sk(user)))
            .collect();
        let mut muted = HashSet::new();
        for member in self.batch_get(keys).await? {
            if item::get_bool(&member, "muted") {
                muted.insert(RoomId::from_trusted(item::get_s(&member, "room_id")?));
            }
        }
        Ok(muted)
    }

    async fn set_role(&self, room: &RoomId, user: &UserId, role: Role) -> Result<ChangeMember> {
        for _ in 0..CHANGE_ATTEMPTS {
            let Some(member) = self.member(room, user).await? else {
                return Ok(ChangeMember::NotMember);
            };
            if member.role == role {
                return Ok(ChangeMember::Done);
            }
            let update = TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::key(&room_pk(room), &member_sk(user))))
                        .update_expression("SET #role = :new")
                        .condition_expression("#role = :old")
                        .expression_attribute_names("#role", "role")
                        .expression_attribute_values(":new", s(role.as_str()))
                        .expression_attribute_values(":old", s(member.role.as_str()))
                        .build()
                        .map_err(build_error)?,
                )
                .build();
            let (condition, values) = match role {
                Role::Admin => (
                    "attribute_exists(pk)",
                    Item::from([(":delta".into(), n(1))]),
                ),
                Role::Member => (
                    "attribute_exists(pk) AND admin_count > :one",
                    Item::from([(":delta".into(), n(-1)), (":one".into(), n(1))]),
                ),
            };
            let outcome = self
                .change_member(
                    update,
                    room,
                    "SET admin_count = admin_count + :delta",
                    condition,
                    values,
                )
                .await?;
            match outcome {
                Ok(()) => return Ok(ChangeMember::Done),
                Err(codes) if failed_at(&codes, 1) => return Ok(ChangeMember::LastAdmin),
                Err(_) => continue,
            }
        }
        Err(Error::unavailable("membership kept changing; try again"))
    }
}
