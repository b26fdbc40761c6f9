//! Who is online: a user with at least one live connection.

use std::collections::HashSet;

use crate::domain::UserId;
use crate::{Ctx, Result};

/// The users among `users` that have a live connection.
pub async fn online_users(ctx: &Ctx, users: &[UserId]) -> Result<HashSet<UserId>> {
    Ok(ctx
        .connections
        .connections_of(users, ctx.clock.now())
        .await?
        .into_iter()
        .map(|c| c.user_id)
        .collect())
}
