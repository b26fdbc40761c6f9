use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chat_core::domain::{Email, ProfileText, ProfileUpdate, Timestamp, User, UserId, Username};
use chat_core::ports::{Block, Blocks, CreateUser, UpdateProfile, UserStore};
use chat_core::{Error, Result};

use super::item::{self, b, failed_at, s, ts, Item};
use super::keys::{
    blocked_by_sk, blocking_sk, email_pk, user_pk, username_pk, BLOCKED_BY_PREFIX, BLOCKING_PREFIX,
    BLOCKS_PREFIX, EMAIL, PROFILE, USERNAME,
};
use super::DynamoStore;
use crate::sdk_error::build_error;
use crate::table::SK;

fn to_item(user: &User) -> Item {
    let mut item = item::key(&user_pk(&user.id), PROFILE);
    item.insert("id".into(), s(user.id.as_str()));
    item.insert("username".into(), s(user.username.as_str()));
    item.insert("email".into(), s(user.email.as_str()));
    item.insert("password_hash".into(), s(&user.password_hash));
    item.insert("verified".into(), b(user.email_verified));
    item.insert("first_name".into(), s(user.first_name.as_str()));
    item.insert("last_name".into(), s(user.last_name.as_str()));
    item.insert("bio".into(), s(user.bio.as_str()));
    item.insert("created_at".into(), ts(user.created_at));
    if let Some(key) = &user.picture_key {
        item.insert("picture_key".into(), s(key));
    }
    if let Some(at) = user.last_seen {
        item.insert("last_seen".into(), ts(at));
    }
    if let Some(at) = user.password_changed_at {
        item.insert("password_changed_at".into(), ts(at));
    }
    item
}

pub(super) fn from_item(item: &Item) -> Result<User> {
    Ok(User {
        id: UserId::from_trusted(item::get_s(item, "id")?),
        username: Username::from_trusted(item::get_s(item, "username")?),
        email: Email::from_trusted(item::get_s(item, "email")?),
        password_hash: item::get_s(item, "password_hash")?,
        email_verified: item::get_bool(item, "verified"),
        first_name: ProfileText::from_trusted(item::opt_s(item, "first_name").unwrap_or_default()),
        last_name: ProfileText::from_trusted(item::opt_s(item, "last_name").unwrap_or_default()),
        bio: ProfileText::from_trusted(item::opt_s(item, "bio").unwrap_or_default()),
        picture_key: item::opt_s(item, "picture_key"),
        created_at: item::get_ts(item, "created_at")?,
        last_seen: item::opt_ts(item, "last_seen"),
        password_changed_at: item::opt_ts(item, "password_changed_at"),
    })
}

fn claim(pk: String, kind: &str, user: &UserId, table: &str) -> Result<TransactWriteItem> {
    let mut claim = item::key(&pk, kind);
    claim.insert("user_id".into(), s(user.as_str()));
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(claim))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)?,
        )
        .build())
}

impl DynamoStore {
    /// Sets one attribute of an existing user; an unknown user is left alone.
    async fn set_on_user(
        &self,
        id: &UserId,
        attribute: &str,
        value: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Result<()> {
        self.set_if_exists(&user_pk(id), PROFILE, attribute, value)
            .await
    }

    async fn user_by_claim(&self, pk: String, kind: &str) -> Result<Option<User>> {
        let Some(claim) = self.get(&pk, kind).await? else {
            return Ok(None);
        };
        let id = UserId::from_trusted(item::get_s(&claim, "user_id")?);
        self.user_by_id(&id).await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> Result<CreateUser> {
        let put_user = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(user)))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(build_error)?,
            )
            .build();
        let request = self
            .client
            .transact_write_items()
            .transact_items(put_user)
            .transact_items(claim(email_pk(&user.email), EMAIL, &user.id, &self.table)?)
            .transact_items(claim(
                username_pk(&user.username.key()),
                USERNAME,
                &user.id,
                &self.table,
            )?);
        match item::transact(request).await? {
            Ok(()) => Ok(CreateUser::Created),
            Err(codes) if failed_at(&codes, 1) => Ok(CreateUser::EmailTaken),
            Err(codes) if failed_at(&codes, 2) => Ok(CreateUser::UsernameTaken),
            Err(codes) => Err(Error::internal(format!(
                "account creation refused: {codes:?}"
            ))),
        }
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        self.get(&user_pk(id), PROFILE)
            .await?
            .map(|item| from_item(&item))
            .transpose()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.user_by_claim(email_pk(email), EMAIL).await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>> {
        self.user_by_claim(username_pk(&username.key()), USERNAME)
            .await
    }

    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let mut unique: Vec<&UserId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        let keys = unique
            .into_iter()
            .map(|id| (user_pk(id), PROFILE.to_owned()))
            .collect();
        self.batch_get(keys).await?.iter().map(from_item).collect()
    }

    async fn mark_verified(&self, id: &UserId) -> Result<()> {
        self.set_on_user(id, "verified", b(true)).await
    }

    async fn update_profile(&self, id: &UserId, update: &ProfileUpdate) -> Result<UpdateProfile> {
        let Some(current) = self.user_by_id(id).await? else {
            return Ok(UpdateProfile::NotFound);
        };
        let mut user = current.clone();
        update.apply_to(&mut user);
        let mut sets = Vec::new();
        let mut values = Item::new();
        let mut fields: Vec<(&str, String)> = vec![
            ("username", user.username.as_str().to_owned()),
            ("first_name", user.first_name.as_str().to_owned()),
            ("last_name", user.last_name.as_str().to_owned()),
            ("bio", user.bio.as_str().to_owned()),
            ("password_hash", user.password_hash.clone()),
        ];
        if let Some(key) = &user.picture_key {
            fields.push(("picture_key", key.clone()));
        }
        let mut names = std::collections::HashMap::new();
        for (i, (name, value)) in fields.into_iter().enumerate() {
            sets.push(format!("#f{i} = :v{i}"));
            names.insert(format!("#f{i}"), name.to_owned());
            values.insert(format!(":v{i}"), s(value));
        }
        if let Some(at) = user.password_changed_at {
            sets.push("#changed = :changed".to_owned());
            names.insert("#changed".to_owned(), "password_changed_at".to_owned());
            values.insert(":changed".to_owned(), ts(at));
        }
        names.insert("#username".to_owned(), "username".to_owned());
        let update_user = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&user_pk(id), PROFILE)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk) AND #username = :old")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .expression_attribute_values(":old", s(current.username.as_str()))
            .build()
            .map_err(build_error)?;
        let old_key = current.username.key();
        let new_key = user.username.key();
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update_user).build());
        if new_key != old_key {
            request = request
                .transact_items(claim(username_pk(&new_key), USERNAME, id, &self.table)?)
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(item::key(&username_pk(&old_key), USERNAME)))
                                .condition_expression("user_id = :me")
                                .expression_attribute_values(":me", s(id.as_str()))
                                .build()
                                .map_err(build_error)?,
                        )
                        .build(),
                );
        }
        match item::transact(request).await? {
            Ok(()) => Ok(UpdateProfile::Updated(Box::new(user))),
            Err(codes) if failed_at(&codes, 1) => Ok(UpdateProfile::UsernameTaken),
            Err(codes) if failed_at(&codes, 0) => Err(Error::Conflict(
                "The profile changed meanwhile; try again.".into(),
            )),
            Err(codes) => Err(Error::internal(format!(
                "profile change refused: {codes:?}"
            ))),
        }
    }

    async fn set_last_seen(&self, id: &UserId, at: Timestamp) -> Result<()> {
        self.set_on_user(id, "last_seen", ts(at)).await
    }

    async fn set_block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        on: bool,
        at: Timestamp,
    ) -> Result<()> {
        let keys = [
            item::key(&user_pk(blocker), &blocking_sk(blocked)),
            item::key(&user_pk(blocked), &blocked_by_sk(blocker)),
        ];
        let mut request = self.client.transact_write_items();
        for key in keys {
            let write = if on {
                TransactWriteItem::builder().update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key))
                        .update_expression("SET #at = if_not_exists(#at, :at)")
                        .expression_attribute_names("#at", "at")
                        .expression_attribute_values(":at", ts(at))
                        .build()
                        .map_err(build_error)?,
                )
            } else {
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key))
                        .build()
                        .map_err(build_error)?,
                )
            };
            request = request.transact_items(write.build());
        }
        match item::transact(request).await? {
            Ok(()) => Ok(()),
            Err(codes) => Err(Error::internal(format!("block refused: {codes:?}"))),
        }
    }

    async fn blocks_of(&self, user: &UserId) -> Result<Blocks> {
        let mut blocks = Blocks::default();
        for i in self.query_prefix(&user_pk(user), BLOCKS_PREFIX).await? {
            let sk = item::get_s(&i, SK)?;
            if let Some(id) = sk.strip_prefix(BLOCKED_BY_PREFIX) {
                blocks.blocked_by.push(UserId::from_trusted(id.to_owned()));
            } else if let Some(id) = sk.strip_prefix(BLOCKING_PREFIX) {
                blocks.blocking.push(Block {
                    user_id: UserId::from_trusted(id.to_owned()),
                    at: item::get_ts(&i, "at")?,
                });
            }
        }
        blocks
            .blocking
            .sort_by(|a, b| (a.at, &a.user_id).cmp(&(b.at, &b.user_id)));
        Ok(blocks)
    }
}
