//! Accounts and their unique e-mail and username claims.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_core::domain::{Email, ProfileUpdate, Timestamp, User, UserId, Username};
use chat_core::ports::{Block, Blocks, CreateUser, UpdateProfile, UserStore};
use chat_core::{Error, Result};

use crate::{from_json, scripts, to_json, RedisStore, CAS_ATTEMPTS};

impl RedisStore {
    /// The user a claim points to.
    async fn user_by_claim(&self, claim: &str) -> Result<Option<User>> {
        let id: Option<String> = self.query("GET", redis::cmd("GET").arg(claim)).await?;
        match id {
            Some(id) => self.user_by_id(&UserId::from_trusted(id)).await,
            None => Ok(None),
        }
    }

    /// Changes a stored user in place (no claim changes).
    async fn change_user(&self, id: &UserId, change: impl Fn(&mut User)) -> Result<()> {
        self.compare_and_set(&self.keys.user(id), |user: Option<User>| {
            Ok(match user {
                Some(mut user) => {
                    change(&mut user);
                    (Some(user), ())
                }
                None => (None, ()),
            })
        })
        .await
    }
}

#[async_trait]
impl UserStore for RedisStore {
    async fn create_user(&self, user: &User) -> Result<CreateUser> {
        let outcome: i64 = self
            .script(
                "create user",
                scripts::CREATE_USER
                    .key(self.keys.email(&user.email))
                    .key(self.keys.username(&user.username.key()))
                    .key(self.keys.user(&user.id))
                    .arg(user.id.as_str())
                    .arg(to_json(user)?),
            )
            .await?;
        Ok(match outcome {
            0 => CreateUser::Created,
            1 => CreateUser::EmailTaken,
            _ => CreateUser::UsernameTaken,
        })
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        self.get_json(&self.keys.user(id)).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.user_by_claim(&self.keys.email(email)).await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>> {
        self.user_by_claim(&self.keys.username(&username.key()))
            .await
    }

    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let unique: std::collections::BTreeSet<&UserId> = ids.iter().collect();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let mut mget = redis::cmd("MGET");
        for id in &unique {
            mget.arg(self.keys.user(id));
        }
        let found: Vec<Option<String>> = self.query("MGET", &mget).await?;
        found.iter().flatten().map(|raw| from_json(raw)).collect()
    }

    async fn mark_verified(&self, id: &UserId) -> Result<()> {
        self.change_user(id, |user| user.email_verified = true)
            .await
    }

    async fn update_profile(&self, id: &UserId, update: &ProfileUpdate) -> Result<UpdateProfile> {
        let key = self.keys.user(id);
        for _ in 0..CAS_ATTEMPTS {
            let raw: Option<String> = self.query("GET", redis::cmd("GET").arg(&key)).await?;
            let Some(raw) = raw else {
                return Ok(UpdateProfile::NotFound);
            };
            let current: User = from_json(&raw)?;
            let mut user = current.clone();
            update.apply_to(&mut user);
            let outcome: i64 = self
                .script(
                    "update profile",
                    scripts::UPDATE_PROFILE
                        .key(&key)
                        .key(self.keys.username(&current.username.key()))
                        .key(self.keys.username(&user.username.key()))
                        .arg(&raw)
                        .arg(to_json(&user)?)
                        .arg(id.as_str()),
                )
                .await?;
            match outcome {
                0 => return Ok(UpdateProfile::Updated(Box::new(user))),
                1 => return Ok(UpdateProfile::UsernameTaken),
                _ => continue,
            }
        }
        Err(Error::unavailable("the profile kept changing; try again"))
    }

    async fn set_last_seen(&self, id: &UserId, at: Timestamp) -> Result<()> {
        self.change_user(id, |user| user.last_seen = Some(at)).await
    }

    async fn set_block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        on: bool,
        at: Timestamp,
    ) -> Result<()> {
        let blocking = self.keys.blocking(blocker);
        let blocked_by = self.keys.blocked_by(blocked);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if on {
            pipe.cmd("HSETNX")
                .arg(&blocking)
                .arg(blocked.as_str())
                .arg(at.millis())
                .cmd("SADD")
                .arg(&blocked_by)
                .arg(blocker.as_str());
        } else {
            pipe.cmd("HDEL")
                .arg(&blocking)
                .arg(blocked.as_str())
                .cmd("SREM")
                .arg(&blocked_by)
                .arg(blocker.as_str());
        }
        self.pipe::<()>("set a block", &pipe).await
    }

    async fn blocks_of(&self, user: &UserId) -> Result<Blocks> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGETALL")
            .arg(self.keys.blocking(user))
            .cmd("SMEMBERS")
            .arg(self.keys.blocked_by(user));
        let (blocking, blocked_by): (HashMap<String, i64>, Vec<String>) =
            self.pipe("read blocks", &pipe).await?;
        let mut blocking: Vec<Block> = blocking
            .into_iter()
            .map(|(id, at)| Block {
                user_id: UserId::from_trusted(id),
                at: Timestamp::from_millis(at),
            })
            .collect();
        blocking.sort_by(|a, b| (a.at, &a.user_id).cmp(&(b.at, &b.user_id)));
        Ok(Blocks {
            blocking,
            blocked_by: blocked_by.into_iter().map(UserId::from_trusted).collect(),
        })
    }
}
