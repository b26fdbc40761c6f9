//! Accounts and the claims that keep e-mail addresses and usernames unique.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::domain::{Email, ProfileUpdate, Timestamp, User, UserId, Username};
use crate::ports::{Block, Blocks, CreateUser, UpdateProfile, UserStore};
use crate::Result;

use super::MemoryStore;

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<CreateUser> {
        self.write(|| {
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
        })
        .await
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
        self.write(|| {
            if let Some(user) = self.lock()?.users.get_mut(id) {
                user.email_verified = true;
            }
            Ok(())
        })
        .await
    }

    async fn update_profile(&self, id: &UserId, update: &ProfileUpdate) -> Result<UpdateProfile> {
        self.write(|| {
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
        })
        .await
    }

    async fn set_last_seen(&self, id: &UserId, at: Timestamp) -> Result<()> {
        if let Some(user) = self.lock()?.users.get_mut(id) {
            user.last_seen = Some(at);
        }
        Ok(())
    }

    async fn set_block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        on: bool,
        at: Timestamp,
    ) -> Result<()> {
        self.write(|| {
            let mut s = self.lock()?;
            s.set_block(blocker, blocked, on, at);
            Ok(())
        })
        .await
    }

    async fn blocks_of(&self, user: &UserId) -> Result<Blocks> {
        let s = self.lock()?;
        let mut blocking: Vec<Block> = s
            .blocking
            .get(user)
            .map(|b| {
                b.iter()
                    .map(|(user_id, at)| Block {
                        user_id: user_id.clone(),
                        at: *at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        blocking.sort_by(|a, b| (a.at, &a.user_id).cmp(&(b.at, &b.user_id)));
        let blocked_by = s
            .blocked_by
            .get(user)
            .map(|b| b.iter().cloned().collect())
            .unwrap_or_default();
        Ok(Blocks {
            blocking,
            blocked_by,
        })
    }
}

impl super::State {
    /// Adds or removes one block, both ways.
    pub(super) fn set_block(
        &mut self,
        blocker: &UserId,
        blocked: &UserId,
        on: bool,
        at: Timestamp,
    ) {
        if on {
            self.blocking
                .entry(blocker.clone())
                .or_default()
                .entry(blocked.clone())
                .or_insert(at);
            self.blocked_by
                .entry(blocked.clone())
                .or_default()
                .insert(blocker.clone());
        } else {
            if let Some(b) = self.blocking.get_mut(blocker) {
                b.remove(blocked);
            }
            if let Some(b) = self.blocked_by.get_mut(blocked) {
                b.remove(blocker);
            }
        }
    }
}
