//! Blocking: a user blocks another, and then neither can open a direct room
//! with the other, neither's direct messages reach the other, and neither
//! learns the other's presence (online status, last seen, typing).

use crate::domain::{User, UserId};
use crate::ports::{Block, Blocks};
use crate::{Ctx, Error, Result};

/// Most users one user may block.
pub const MAX_BLOCKS: usize = 1000;

/// A blocked user with their account.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The block.
    pub block: Block,
    /// The blocked account.
    pub user: User,
}

/// `caller` blocks `target`. Blocking someone blocked already changes
/// nothing (and says so with `false`).
pub async fn block(ctx: &Ctx, caller: &UserId, target: &UserId) -> Result<(Blocked, bool)> {
    if caller == target {
        return Err(Error::field("user_id", "You cannot block yourself."));
    }
    let user = ctx
        .users
        .user_by_id(target)
        .await?
        .ok_or_else(|| Error::field("user_id", "User not found."))?;
    let blocks = ctx.users.blocks_of(caller).await?;
    if let Some(block) = blocks.blocking.iter().find(|b| b.user_id == *target) {
        let block = block.clone();
        return Ok((Blocked { block, user }, false));
    }
    if blocks.blocking.len() >= MAX_BLOCKS {
        return Err(Error::Conflict(format!(
            "You block {MAX_BLOCKS} users already; unblock someone first."
        )));
    }
    let at = ctx.clock.now();
    ctx.users.set_block(caller, target, true, at).await?;
    let block = Block {
        user_id: target.clone(),
        at,
    };
    Ok((Blocked { block, user }, true))
}

/// `caller` no longer blocks `target` (nothing happens if they did not).
pub async fn unblock(ctx: &Ctx, caller: &UserId, target: &UserId) -> Result<()> {
    ctx.users
        .set_block(caller, target, false, ctx.clock.now())
        .await
}

/// The users `caller` blocks, oldest block first (accounts that are gone
/// are left out).
pub async fn list(ctx: &Ctx, caller: &UserId) -> Result<Vec<Blocked>> {
    let blocks = ctx.users.blocks_of(caller).await?;
    let ids: Vec<UserId> = blocks.blocking.iter().map(|b| b.user_id.clone()).collect();
    let users = ctx.users.users_by_ids(&ids).await?;
    Ok(blocks
        .blocking
        .into_iter()
        .filter_map(|block| {
            let user = users.iter().find(|u| u.id == block.user_id)?.clone();
            Some(Blocked { block, user })
        })
        .collect())
}

/// `user`'s blocks, both ways.
pub async fn of(ctx: &Ctx, user: &UserId) -> Result<Blocks> {
    ctx.users.blocks_of(user).await
}

/// Refuses a direct conversation between `caller` and `other` when a block
/// stands between them, either way.
pub async fn check_direct(ctx: &Ctx, caller: &UserId, other: &UserId) -> Result<()> {
    if of(ctx, caller).await?.between(other) {
        return Err(Error::forbidden("You cannot message this user."));
    }
    Ok(())
}
