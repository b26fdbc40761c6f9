//! Real-time behaviour: WebSocket connections, presence, fan-out of events,
//! typing indicators and delivery/read receipts.
//!
//! Every event goes out through the [`Notifier`](crate::ports::Notifier)
//! port; a connection the notifier reports gone is forgotten on the spot.
//! Fan-out is best-effort: a failed push is logged, never fails the request
//! that caused it (the message is stored either way).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};

use crate::domain::{Connection, Message, MessageId, RoomId, Timestamp, User, UserId};
use crate::events::{ReceiptStatus, ServerEvent};
use crate::ports::{AddConnection, Delivery};
use crate::security::jwt::{token_not_valid, Claims};
use crate::usecases::{auth, blocks, profile, rooms};
use crate::{Ctx, Error, Result};

/// API Gateway closes every WebSocket after two hours.
pub const CONNECTION_TTL_SECS: i64 = 2 * 3600;
/// Largest frame a client may send (API Gateway's frame limit).
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Pushes in flight at once during a fan-out.
const FAN_OUT_CONCURRENCY: usize = 32;
/// Messages read from the store per batch of a `sync`.
pub const SYNC_BATCH: usize = 100;
/// Most messages one `sync` frame sends (then `has_more`).
pub const MAX_SYNC: usize = 200;

/// When a socket opened at `now` with `token` stops being served: the
/// token's expiry, or API Gateway's two-hour limit.
pub fn connection_expiry(now: Timestamp, token: &Claims) -> Timestamp {
    now.plus_secs(CONNECTION_TTL_SECS)
        .min(Timestamp::from_millis(token.exp.saturating_mul(1000)))
}

/// Opens a connection with a verified access `token`: for one room (which
/// the user must be a member of) or, without a room, for all their rooms.
/// A token from before the user's last password change or of a session
/// that ended (logout, a replayed refresh token) is refused. The connection
/// lasts until the token expires (at most two hours). Nothing is stored
/// when the connection is refused.
pub async fn connect(
    ctx: &Ctx,
    connection_id: &str,
    room_id: Option<RoomId>,
    token: &Claims,
) -> Result<Connection> {
    let user_id = token.user_id()?;
    let user = profile::me(ctx, &user_id).await?;
    if auth::issued_before_password_change(&user, token.iat) {
        return Err(token_not_valid());
    }
    if let Some(family) = &token.fam {
        if ctx.tokens.family_revoked(family, ctx.clock.now()).await? {
            return Err(token_not_valid());
        }
    }
    if let Some(room) = &room_id {
        rooms::room_for_member(ctx, &user_id, room)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => not_member(),
                other => other,
            })?;
    }
    let now = ctx.clock.now();
    let connection = Connection {
        id: connection_id.to_owned(),
        user_id,
        room_id,
        connected_at: now,
        expires_at: connection_expiry(now, token),
        family: token.fam.clone(),
    };
    let limit = ctx.settings.max_sockets_per_user;
    let live = match ctx
        .connections
        .add_connection(&connection, now, limit)
        .await?
    {
        AddConnection::Added { live } => live,
        AddConnection::Full => return Err(Error::TooManyConnections { limit }),
    };
    if live == 1 {
        broadcast_presence(ctx, &user, true, None).await;
    }
    Ok(connection)
}

/// The refusal of a socket for a room the user is not in.
pub fn not_member() -> Error {
    Error::forbidden("You are not a member of this room.")
}

/// Closes a connection; the user's last one makes them offline.
pub async fn disconnect(ctx: &Ctx, connection_id: &str) -> Result<()> {
    let now = ctx.clock.now();
    if let Some((connection, remaining)) = ctx
        .connections
        .remove_connection(connection_id, now)
        .await?
    {
        if remaining == 0 {
            ctx.users.set_last_seen(&connection.user_id, now).await?;
            if let Some(user) = ctx.users.user_by_id(&connection.user_id).await? {
                broadcast_presence(ctx, &user, false, Some(now)).await;
            }
        }
    }
    Ok(())
}

/// Tells everyone who shares a room with `user` that they came online or went offline.
async fn broadcast_presence(ctx: &Ctx, user: &User, online: bool, last_seen: Option<Timestamp>) {
    let result: Result<()> = async {
        let blocks = blocks::of(ctx, &user.id).await?;
        let mut audience = BTreeSet::new();
        for room in ctx.rooms.rooms_of(&user.id).await? {
            for member in ctx.rooms.members(&room.id).await? {
                if member.user_id != user.id && !blocks.between(&member.user_id) {
                    audience.insert(member.user_id);
                }
            }
        }
        let audience: Vec<UserId> = audience.into_iter().collect();
        let connections = ctx
            .connections
            .connections_of(&audience, ctx.clock.now())
            .await?;
        let event = ServerEvent::presence(user, online, last_seen);
        push(ctx, &connections, &event).await;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "presence broadcast failed");
    }
}

/// Which connections accept a push: all of them, or those one gateway
/// process holds.
pub type Held<'a> = &'a (dyn Fn(&Connection) -> bool + Sync);

/// Pushes a new message to every connection of its room's `members`: first
/// to the others, then records in one step that the sender has read it and
/// whom it reached, then to the sender's own connections, each echo saying
/// whom it reached (`delivered_to`, in place of a separate receipt).
pub async fn fan_out_message(ctx: &Ctx, message: &Message, members: &[UserId]) {
    let audience = match connections_in(ctx, &message.room_id, members).await {
        Ok(audience) => audience,
        Err(e) => {
            tracing::warn!(error = %e, message = %message.id, "fan-out failed");
            Vec::new()
        }
    };
    let (senders, others): (Vec<Connection>, Vec<Connection>) = audience
        .into_iter()
        .partition(|c| c.user_id == message.sender_id);
    let outcomes = push(ctx, &others, &ServerEvent::message(message, None)).await;
    let mut reached = reached_by(message, &outcomes);
    if let Err(e) = ctx
        .receipts
        .mark_sent(&message.room_id, &message.sender_id, &reached, message.seq)
        .await
    {
        // Nothing recorded: the echo does not claim it either.
        tracing::warn!(error = %e, message = %message.id, "recording the send's receipts failed");
        reached.clear();
    }
    push(ctx, &senders, &ServerEvent::echo(message, reached)).await;
}

/// The live connections that want events of `room`: the audience of its
/// messages.
pub async fn room_connections(ctx: &Ctx, room: &RoomId) -> Result<Vec<Connection>> {
    connections_in(ctx, room, &rooms::member_ids(ctx, room).await?).await
}

/// The live connections of `members` that want events of `room`.
async fn connections_in(ctx: &Ctx, room: &RoomId, members: &[UserId]) -> Result<Vec<Connection>> {
    Ok(ctx
        .connections
        .connections_of(members, ctx.clock.now())
        .await?
        .into_iter()
        .filter(|c| c.wants(room))
        .collect())
}

/// Pushes `message` to the connections of `audience` that `held` accepts
/// (where every gateway process fans out each stored message to the
/// sockets it holds, see
/// [`Notifier::pushes_stored_messages`](crate::ports::Notifier::pushes_stored_messages)).
/// Returns what became of each push, for [`report_delivery`].
pub async fn push_message(
    ctx: &Ctx,
    message: &Message,
    audience: &[Connection],
    held: Held<'_>,
) -> Vec<(Connection, Delivery)> {
    let here: Vec<Connection> = audience.iter().filter(|c| held(c)).cloned().collect();
    push(ctx, &here, &ServerEvent::message(message, None)).await
}

/// The users other than its sender that `message` reached, in id order.
fn reached_by(message: &Message, outcomes: &[(Connection, Delivery)]) -> Vec<UserId> {
    let reached: BTreeSet<UserId> = outcomes
        .iter()
        .filter(|(c, d)| *d == Delivery::Delivered && c.user_id != message.sender_id)
        .map(|(c, _)| c.user_id.clone())
        .collect();
    reached.into_iter().collect()
}

/// Records who `message` reached (the `outcomes` of [`push_message`]) and
/// tells the sender's connections: those it reached, and those `held`
/// does not accept (their own process pushes the message to them).
pub async fn report_delivery(
    ctx: &Ctx,
    message: &Message,
    audience: &[Connection],
    outcomes: &[(Connection, Delivery)],
    held: Held<'_>,
) {
    let reached = reached_by(message, outcomes);
    if reached.is_empty() {
        return;
    }
    if let Err(e) = ctx
        .receipts
        .mark_delivered(&message.room_id, &reached, message.seq)
        .await
    {
        tracing::warn!(error = %e, message = %message.id, "recording delivery failed");
        return;
    }
    let delivered: BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, d)| *d == Delivery::Delivered)
        .map(|(c, _)| c.id.as_str())
        .collect();
    let sender_connections: Vec<Connection> = audience
        .iter()
        .filter(|c| c.user_id == message.sender_id)
        .filter(|c| !held(c) || delivered.contains(c.id.as_str()))
        .cloned()
        .collect();
    let event = ServerEvent::Receipt {
        room_id: message.room_id.clone(),
        message_id: message.id.clone(),
        seq: message.seq,
        status: ReceiptStatus::Delivered,
        user_ids: reached,
    };
    push(ctx, &sender_connections, &event).await;
}

/// Tells the other members of `room` that `user` is (or stopped) typing.
pub async fn typing(ctx: &Ctx, user: &User, room: &RoomId, is_typing: bool) -> Result<()> {
    let blocks = blocks::of(ctx, &user.id).await?;
    let connections: Vec<Connection> = room_connections(ctx, room)
        .await?
        .into_iter()
        .filter(|c| c.user_id != user.id && !blocks.between(&c.user_id))
        .collect();
    let event = ServerEvent::Typing {
        room_id: room.clone(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        is_typing,
    };
    push(ctx, &connections, &event).await;
    Ok(())
}

/// Records that `user` read `room` up to `message`, tells the room
/// (`receipt`) and the user's own connections (`unread`, so that their other
/// devices update the count); returns the room's unread count for them. A
/// mark below the one they have changes nothing. 404 unless `user` is a
/// member; the room and its members are read once, for the check, the count
/// and the audience.
pub async fn read(
    ctx: &Ctx,
    user: &UserId,
    room: &RoomId,
    message: &MessageId,
) -> Result<rooms::Unread> {
    let (found, members) = rooms::room_with_members_for(ctx, user, room).await?;
    let Some(read) = ctx.messages.message(room, message).await? else {
        return Err(Error::field(
            "message_id",
            "Message not found in this room.",
        ));
    };
    let moved = ctx.receipts.mark_read(room, user, read.seq).await?;
    // Moved: the reader's mark is this message's seq now; with the mute
    // flag on the membership, the count needs no other read.
    let muted = members
        .iter()
        .find(|m| m.user_id == *user)
        .and_then(|m| m.muted);
    let unread = match muted {
        Some(muted) if moved => rooms::Unread {
            messages: found.last_seq.saturating_sub(read.seq),
            muted,
        },
        _ => rooms::unread_count(ctx, user, &found).await?,
    };
    if moved {
        let members: Vec<UserId> = members.into_iter().map(|m| m.user_id).collect();
        let connections = connections_in(ctx, room, &members).await?;
        let event = ServerEvent::Receipt {
            room_id: room.clone(),
            message_id: message.clone(),
            seq: read.seq,
            status: ReceiptStatus::Read,
            user_ids: vec![user.clone()],
        };
        push(ctx, &connections, &event).await;
        let own: Vec<Connection> = connections
            .into_iter()
            .filter(|c| c.user_id == *user)
            .collect();
        let event = ServerEvent::Unread {
            room_id: room.clone(),
            unread_count: unread.count(),
        };
        push(ctx, &own, &event).await;
    }
    Ok(unread)
}

/// Sends `connection` the messages of `room` after `after_seq` as `message`
/// events, oldest first, then a `synced` event. At most [`MAX_SYNC`]
/// messages per call; `synced.has_more` says to ask again. The connection
/// is registered before it can ask, so a message stored after the last read
/// here is pushed to it live: nothing falls between the two.
///
/// With `after_change`, the messages edited or deleted after that change
/// number follow, as `message_updated` / `message_deleted` events in change
/// order (within the same [`MAX_SYNC`]), and `synced.last_change` says how
/// far the connection got.
pub async fn sync(
    ctx: &Ctx,
    connection: &Connection,
    room: &RoomId,
    after_seq: u64,
    after_change: Option<u64>,
) -> Result<()> {
    let (found, _) = rooms::room_for_member(ctx, &connection.user_id, room).await?;
    rooms::check_after_seq(ctx, &found, after_seq).await?;
    let mut upto = after_seq;
    let mut sent = 0;
    let has_more = loop {
        let batch = ctx.messages.after(room, upto, SYNC_BATCH + 1).await?;
        let more = batch.len() > SYNC_BATCH;
        for message in batch.iter().take(SYNC_BATCH) {
            let payload = ServerEvent::message(message, Some(&connection.user_id)).to_json();
            match ctx
                .notifier
                .post(&connection.id, payload.as_bytes())
                .await?
            {
                Delivery::Delivered => upto = message.seq,
                Delivery::Gone => {
                    forget(ctx, &connection.id).await;
                    return Ok(());
                }
            }
            sent += 1;
        }
        if !more || sent >= MAX_SYNC {
            break more;
        }
    };
    if upto > after_seq {
        ctx.receipts
            .mark_delivered(room, std::slice::from_ref(&connection.user_id), upto)
            .await?;
    }
    let mut has_more = has_more;
    let mut last_change = after_change;
    if let (Some(mut upto_change), false) = (after_change, has_more) {
        loop {
            let batch = ctx
                .messages
                .changes_after(room, upto_change, SYNC_BATCH + 1)
                .await?;
            let more = batch.len() > SYNC_BATCH;
            for message in batch.iter().take(SYNC_BATCH) {
                let payload = ServerEvent::changed(message, Some(&connection.user_id)).to_json();
                match ctx
                    .notifier
                    .post(&connection.id, payload.as_bytes())
                    .await?
                {
                    Delivery::Delivered => upto_change = message.change,
                    Delivery::Gone => {
                        forget(ctx, &connection.id).await;
                        return Ok(());
                    }
                }
                sent += 1;
            }
            if !more || sent >= MAX_SYNC {
                has_more = more;
                break;
            }
        }
        last_change = Some(upto_change);
    }
    let synced = ServerEvent::Synced {
        room_id: room.clone(),
        last_seq: upto,
        has_more,
        last_change,
    };
    reply(ctx, &connection.id, &synced).await;
    Ok(())
}

/// Pushes a message's edit, deletion or reactions to every connection of
/// its room's `members` (the sender's other devices included), each
/// member's with the reactions as that member sees them.
pub async fn fan_out_change(ctx: &Ctx, message: &Message, members: &[UserId]) {
    let connections = match connections_in(ctx, &message.room_id, members).await {
        Ok(connections) => connections,
        Err(e) => {
            tracing::warn!(error = %e, "fan-out of a change failed");
            return;
        }
    };
    if message.reactions.is_empty() {
        push(ctx, &connections, &ServerEvent::changed(message, None)).await;
        return;
    }
    let mut payloads: HashMap<&UserId, Bytes> = HashMap::new();
    let addressed: Vec<(Connection, Bytes)> = connections
        .iter()
        .map(|c| {
            let payload = payloads.entry(&c.user_id).or_insert_with(|| {
                ServerEvent::changed(message, Some(&c.user_id))
                    .to_json()
                    .into()
            });
            (c.clone(), payload.clone())
        })
        .collect();
    post_each(ctx, addressed).await;
}

/// Closes the sockets of `user` opened in login session `family`, or every
/// socket of theirs without one (a password reset ends all their sessions).
/// Each close is followed by its `$disconnect`.
pub async fn close_sockets_of(ctx: &Ctx, user: &UserId, family: Option<&str>) {
    close_where(ctx, user, |c| {
        family.is_none_or(|f| c.family.as_deref() == Some(f))
    })
    .await;
}

/// Closes the sockets `user` opened for `room` (they left it or were
/// removed); their sockets for all their rooms stay open and stop getting
/// the room's events, as its audience is its members.
pub async fn close_room_sockets_of(ctx: &Ctx, user: &UserId, room: &RoomId) {
    close_where(ctx, user, |c| c.room_id.as_ref() == Some(room)).await;
}

/// Closes the live sockets of `user` that `which` selects.
async fn close_where(ctx: &Ctx, user: &UserId, which: impl Fn(&Connection) -> bool) {
    let result: Result<()> = async {
        let connections = ctx
            .connections
            .connections_of(std::slice::from_ref(user), ctx.clock.now())
            .await?;
        for connection in connections.iter().filter(|c| which(c)) {
            ctx.notifier.close(&connection.id).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, user = %user, "closing a user's sockets failed");
    }
}

/// Sends one event to one connection (replies to the connection that spoke).
pub async fn reply(ctx: &Ctx, connection: &str, event: &ServerEvent) {
    let payload = event.to_json();
    match ctx.notifier.post(connection, payload.as_bytes()).await {
        Ok(Delivery::Delivered) => {}
        Ok(Delivery::Gone) => forget(ctx, connection).await,
        Err(e) => tracing::warn!(error = %e, "reply failed"),
    }
}

/// Pushes `event` to each connection, concurrently; forgets the gone ones.
async fn push(
    ctx: &Ctx,
    connections: &[Connection],
    event: &ServerEvent,
) -> Vec<(Connection, Delivery)> {
    let payload = Bytes::from(event.to_json());
    let addressed = connections
        .iter()
        .map(|c| (c.clone(), payload.clone()))
        .collect();
    post_each(ctx, addressed).await
}

/// Posts each payload to its connection, concurrently; forgets the gone ones.
async fn post_each(ctx: &Ctx, addressed: Vec<(Connection, Bytes)>) -> Vec<(Connection, Delivery)> {
    let outcomes: Vec<(Connection, Result<Delivery>)> = stream::iter(addressed)
        .map(|(c, payload)| async move {
            let outcome = ctx.notifier.post(&c.id, &payload).await;
            (c, outcome)
        })
        .buffer_unordered(FAN_OUT_CONCURRENCY)
        .collect()
        .await;
    let mut delivered = Vec::with_capacity(outcomes.len());
    for (connection, outcome) in outcomes {
        match outcome {
            Ok(Delivery::Gone) => {
                forget(ctx, &connection.id).await;
                delivered.push((connection, Delivery::Gone));
            }
            Ok(Delivery::Delivered) => delivered.push((connection, Delivery::Delivered)),
            Err(e) => tracing::warn!(error = %e, connection = %connection.id, "push failed"),
        }
    }
    delivered
}

/// Removes a connection the notifier reported gone, as `$disconnect` would
/// have, without announcing it (announcing could find more gone connections).
async fn forget(ctx: &Ctx, connection: &str) {
    let now = ctx.clock.now();
    match ctx.connections.remove_connection(connection, now).await {
        Ok(Some((c, 0))) => {
            if let Err(e) = ctx.users.set_last_seen(&c.user_id, now).await {
                tracing::warn!(error = %e, "last-seen update failed");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "removing a gone connection failed"),
    }
}
