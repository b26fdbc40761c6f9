//! The Lua scripts: each is one atomic step on the server. Keys come in
//! `KEYS` (all of one hash tag), values in `ARGV`; `false` is Lua's nil.

use std::sync::LazyLock;

use redis::Script;

/// Sets `KEYS[1]` to `ARGV[2]` if it holds `ARGV[1]` (`""`: if it is absent),
/// keeping its expiry. 1 if set, 0 if the value had changed.
pub static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local current = redis.call('GET', KEYS[1])
        if (current == false and ARGV[1] == '') or current == ARGV[1] then
            redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
            return 1
        end
        return 0",
    )
});

/// A new account: `KEYS` e-mail claim, username claim, user; `ARGV` id, user.
/// 0 created, 1 e-mail taken, 2 username taken.
pub static CREATE_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('SET', KEYS[2], ARGV[1])
        redis.call('SET', KEYS[3], ARGV[2])
        return 0",
    )
});

/// A profile change: `KEYS` user, old username claim, new username claim;
/// `ARGV` user as read, user as changed, id. 0 done, 1 username taken,
/// 2 the user changed since it was read (read again).
pub static UPDATE_PROFILE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 2 end
        if KEYS[2] ~= KEYS[3] then
            local owner = redis.call('GET', KEYS[3])
            if owner and owner ~= ARGV[3] then return 1 end
            redis.call('DEL', KEYS[2])
            redis.call('SET', KEYS[3], ARGV[3])
        end
        redis.call('SET', KEYS[1], ARGV[2])
        return 0",
    )
});

/// Token rotation: `KEYS` old token, new token, family; `ARGV` now (ms),
/// family, new user id, new expiry (ms), new jti, client. Returns
/// `{0}` rotated, `{1, next jti, next expiry, rotated at, client}` reused
/// (the successor's fields empty when unknown), `{2}` invalid.
pub static ROTATE_REFRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now = tonumber(ARGV[1])
        local revoked = redis.call('GET', KEYS[3])
        local old = redis.call('HMGET', KEYS[1], 'family', 'expires_at', 'used',
                               'next_jti', 'next_expires_at', 'rotated_at', 'rotated_by')
        if not old[1] then return {'2'} end
        if old[1] ~= ARGV[2] or tonumber(old[2]) <= now then return {'2'} end
        if revoked and tonumber(revoked) > now then return {'2'} end
        if old[3] == '1' then
            return {'1', old[4] or '', old[5] or '', old[6] or '', old[7] or ''}
        end
        redis.call('HSET', KEYS[1], 'used', '1', 'next_jti', ARGV[5],
                   'next_expires_at', ARGV[4], 'rotated_at', ARGV[1], 'rotated_by', ARGV[6])
        redis.call('HSET', KEYS[2], 'family', ARGV[2], 'user_id', ARGV[3],
                   'expires_at', ARGV[4], 'used', '0')
        redis.call('PEXPIREAT', KEYS[2], ARGV[4])
        return {'0'}",
    )
});

/// One hit of a fixed window: `KEYS` counter; `ARGV` limit, window end (ms).
/// 1 allowed (counted), 0 over the limit.
pub static RATE_HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
        if hits >= tonumber(ARGV[1]) then return 0 end
        redis.call('INCR', KEYS[1])
        redis.call('PEXPIREAT', KEYS[1], ARGV[2])
        return 1",
    )
});

/// A room with its first members: `KEYS` meta, counters, roles, joined;
/// `ARGV` room (JSON), then user, role, joined (ms) per member. 1 created,
/// 0 it existed already (nothing changed).
pub static CREATE_ROOM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then return 0 end
        local members, admins = 0, 0
        for i = 2, #ARGV, 3 do
            redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
            redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2])
            members = members + 1
            if ARGV[i + 1] == 'admin' then admins = admins + 1 end
        end
        redis.call('HSET', KEYS[2], 'member_count', members, 'admin_count', admins, 'last_seq', 0)
        return 1",
    )
});

/// A new member: `KEYS` meta, counters, roles, joined; `ARGV` user, role,
/// joined (ms), most members. 0 added, 1 already a member, 2 no such room,
/// 3 the room is full.
pub static ADD_MEMBER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return 2 end
        if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 1 end
        local count = tonumber(redis.call('HGET', KEYS[2], 'member_count') or '0')
        if count >= tonumber(ARGV[4]) then return 3 end
        redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
        redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
        redis.call('HINCRBY', KEYS[2], 'member_count', 1)
        if ARGV[2] == 'admin' then redis.call('HINCRBY', KEYS[2], 'admin_count', 1) end
        return 0",
    )
});

/// A member leaving: `KEYS` counters, roles, joined, muted; `ARGV` user.
/// 0 done, 1 not a member, 2 refused (the last admin of a room with others).
pub static REMOVE_MEMBER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local role = redis.call('HGET', KEYS[2], ARGV[1])
        if not role then return 1 end
        local members = tonumber(redis.call('HGET', KEYS[1], 'member_count') or '0')
        local admins = tonumber(redis.call('HGET', KEYS[1], 'admin_count') or '0')
        if role == 'admin' and admins == 1 and members > 1 then return 2 end
        redis.call('HDEL', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[3], ARGV[1])
        redis.call('SREM', KEYS[4], ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'member_count', -1)
        if role == 'admin' then redis.call('HINCRBY', KEYS[1], 'admin_count', -1) end
        return 0",
    )
});

/// Muting or unmuting: `KEYS` roles, muted; `ARGV` user, `1` to mute.
/// 0 done, 1 not a member.
pub static SET_MUTED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 1 end
        if ARGV[2] == '1' then
            redis.call('SADD', KEYS[2], ARGV[1])
        else
            redis.call('SREM', KEYS[2], ARGV[1])
        end
        return 0",
    )
});

/// A role change: `KEYS` counters, roles; `ARGV` user, role.
/// 0 done, 1 not a member, 2 refused (the room's last admin stepping down).
pub static SET_ROLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local role = redis.call('HGET', KEYS[2], ARGV[1])
        if not role then return 1 end
        if role == ARGV[2] then return 0 end
        local admins = tonumber(redis.call('HGET', KEYS[1], 'admin_count') or '0')
        if role == 'admin' and admins == 1 then return 2 end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        if ARGV[2] == 'admin' then
            redis.call('HINCRBY', KEYS[1], 'admin_count', 1)
        else
            redis.call('HINCRBY', KEYS[1], 'admin_count', -1)
        end
        return 0",
    )
});

/// A message: `KEYS` meta, counters, msgs, ids, clients, last; `ARGV`
/// message (JSON, without seq), id, client key (`""`: none), preview (JSON),
/// channel. Takes the room's next seq, stores everything and publishes
/// `{"seq":…,"message":…}` on the channel at once. Returns
/// `{1, seq}` stored, `{0, seq}` the client key was used (by message `seq`),
/// `{-1, 0}` no such room.
pub static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
        if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
        if ARGV[3] ~= '' then
            local earlier = redis.call('HGET', KEYS[5], ARGV[3])
            if earlier then return {0, tonumber(earlier)} end
        end
        local seq = redis.call('HINCRBY', KEYS[2], 'last_seq', 1)
        redis.call('HSET', KEYS[3], seq, ARGV[1])
        redis.call('HSET', KEYS[4], ARGV[2], seq)
        if ARGV[3] ~= '' then redis.call('HSET', KEYS[5], ARGV[3], seq) end
        redis.call('SET', KEYS[6], ARGV[4])
        redis.call('PUBLISH', ARGV[5], '{"seq":' .. seq .. ',"message":' .. ARGV[1] .. '}')
        return {1, seq}"#,
    )
});

/// A message's edit or deletion, compare-and-set: `KEYS` counters, msgs,
/// changes (sorted set: seq scored by its latest change), last (preview);
/// `ARGV` seq, the message as read, the message changed, the room's last
/// change as read, the new change number, the new preview ('' when the
/// message is not the last), the preview as read. 1 changed; 0 something
/// moved since the read (read again and retry).
pub static CHANGE_MESSAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
        local last = redis.call('HGET', KEYS[1], 'last_change') or '0'
        if last ~= ARGV[4] then return 0 end
        if ARGV[6] ~= '' then
            if redis.call('GET', KEYS[4]) ~= ARGV[7] then return 0 end
            redis.call('SET', KEYS[4], ARGV[6])
        end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        redis.call('HSET', KEYS[1], 'last_change', ARGV[5])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
        return 1",
    )
});

/// Raises watermarks: `KEYS` receipts; `ARGV` seq, then fields. Returns how
/// many moved.
pub static RAISE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local seq = tonumber(ARGV[1])
        local moved = 0
        for i = 2, #ARGV do
            local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
            if seq > current then
                redis.call('HSET', KEYS[1], ARGV[i], seq)
                moved = moved + 1
            end
        end
        return moved",
    )
});

/// A connection: `KEYS` connection, the user's connections; `ARGV` id,
/// connection (JSON), expiry (ms), now (ms), the most the user may have.
/// Forgets the user's expired connections; stores the connection and
/// returns how many live ones the user has, or -1 (storing nothing) when
/// they already have the most.
pub static ADD_CONNECTION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now = tonumber(ARGV[4])
        local live, latest = 0, tonumber(ARGV[3])
        local all = redis.call('HGETALL', KEYS[2])
        for i = 1, #all, 2 do
            local expires = tonumber(all[i + 1])
            if expires > now then
                if all[i] ~= ARGV[1] then live = live + 1 end
                if expires > latest then latest = expires end
            else
                redis.call('HDEL', KEYS[2], all[i])
            end
        end
        if live >= tonumber(ARGV[5]) then return -1 end
        redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        redis.call('PEXPIREAT', KEYS[2], latest)
        return live + 1",
    )
});

/// A connection closing: `KEYS` connection, the user's connections; `ARGV`
/// id, the connection as read, now (ms). Returns the user's live connections
/// left, or -1 if the connection was already gone or changed.
pub static REMOVE_CONNECTION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[2] then return -1 end
        redis.call('DEL', KEYS[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        local now = tonumber(ARGV[3])
        local live = 0
        local all = redis.call('HGETALL', KEYS[2])
        for i = 1, #all, 2 do
            if tonumber(all[i + 1]) > now then live = live + 1 end
        end
        return live",
    )
});
