//! Registration, e-mail verification, login and token refresh.
//!
//! Register, resend-otp and login answer the same way whether or not an
//! address is registered, and take about as long (a password hash is
//! computed either way), so that they cannot be used to find out who has an
//! account.
//!
//! Rate limits count per address *and client* (the caller's IP address, its
//! /64 for IPv6), so that a stranger cannot use them against an owner:
//!
//! - Login: only failures count. A client that failed
//!   [`Settings::login_max_failures`](crate::config::Settings) times for an
//!   address in 15 minutes is refused (429) for it, even with the right
//!   password; a client failing ten times that many for any addresses is
//!   refused for all. When many clients fail for one address, every attempt
//!   on it is slowed down instead of refused, so its owner still gets in.
//! - Codes: one per interval and a few per hour per address and client,
//!   and at most four times that per address in all, except that a client's
//!   first code for an address always goes out. Code requests answer the
//!   same whether or not a code was sent.

use crate::domain::{
    Email, Password, ProfileText, ProfileUpdate, Timestamp, User, UserId, Username,
};
use crate::ports::{
    CreateUser, Mail, OtpRecord, PendingCredentials, RateDecision, RefreshRecord, Rotate,
    UpdateProfile,
};
use crate::security::jwt::{token_not_valid, Claims, TokenType};
use crate::security::otp::{is_code_shaped, OtpHasher};
use crate::security::{password, random};
use crate::usecases::realtime;
use crate::{Ctx, Error, Result};

/// Window of the login failure limits.
const LOGIN_WINDOW_SECS: u64 = 15 * 60;
/// A client failing this many times the per-address limit, over any
/// addresses, is refused for all of them.
const CLIENT_FAILURES_FACTOR: u32 = 10;
/// Failures from all clients for one address, in this many times the
/// per-address limit, slow every attempt on it down.
const ADDRESS_FAILURES_FACTOR: u32 = 5;
/// How long an attempt on an address under attack waits.
const LOGIN_BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);
/// Codes per address per hour from all clients, in times the per-client limit.
const ADDRESS_CODES_FACTOR: u32 = 4;

/// Who is calling, for the per-client limits: an IPv4 address, or the /64
/// of an IPv6 one (one subscriber's usual allocation); `unknown` without one.
pub fn client_tag(ip: Option<std::net::IpAddr>) -> String {
    match ip {
        Some(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    }
}

/// A new account's details.
#[derive(Debug)]
pub struct Registration {
    /// Chosen username.
    pub username: Username,
    /// E-mail address to verify.
    pub email: Email,
    /// Chosen password.
    pub password: Password,
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenPair {
    /// Short-lived token for API calls.
    pub access: String,
    /// Single-use token for the next pair.
    pub refresh: String,
}

/// Registers an account and mails a verification code. If the address is
/// taken, nothing is created and the answer is the same. If its account is
/// not verified yet, a new code goes to the address carrying this
/// registration's username and password: entering it gives them to the
/// account, so whoever reads the inbox owns the account, not whoever
/// registered the address first.
pub async fn register(ctx: &Ctx, input: Registration, client: &str) -> Result<()> {
    // Hash first, so that a taken address costs the same time as a new one.
    let password_hash = password::hash(&input.password).await?;
    if let Some(existing) = ctx.users.user_by_email(&input.email).await? {
        if let Some(holder) = ctx.users.user_by_username(&input.username).await? {
            if holder.id != existing.id {
                return Err(username_taken());
            }
        }
        let pending = PendingCredentials {
            username: input.username,
            password_hash,
        };
        return remind_existing(ctx, &existing, client, Some(pending)).await;
    }
    let user = User {
        id: UserId::from_trusted(ctx.ids.new_id()),
        username: input.username,
        email: input.email,
        password_hash,
        email_verified: false,
        first_name: ProfileText::default(),
        last_name: ProfileText::default(),
        bio: ProfileText::default(),
        picture_key: None,
        created_at: ctx.clock.now(),
        last_seen: None,
        password_changed_at: None,
    };
    match ctx.users.create_user(&user).await? {
        CreateUser::Created => {
            if may_send_code(ctx, &user.email, client).await? {
                send_code(ctx, &user, None).await?;
            }
            Ok(())
        }
        CreateUser::EmailTaken => {
            // Lost a race with another registration of the same address.
            match ctx.users.user_by_email(&user.email).await? {
                Some(existing) => remind_existing(ctx, &existing, client, None).await,
                None => Ok(()),
            }
        }
        CreateUser::UsernameTaken => Err(username_taken()),
    }
}

fn username_taken() -> Error {
    Error::field("username", "A user with that username already exists.")
}

/// A registration attempt on a taken address: a fresh code if the account is
/// unverified, within the address's limits; otherwise nothing.
async fn remind_existing(
    ctx: &Ctx,
    existing: &User,
    client: &str,
    pending: Option<PendingCredentials>,
) -> Result<()> {
    if existing.email_verified {
        return Ok(());
    }
    if may_send_code(ctx, &existing.email, client).await? {
        send_code(ctx, existing, pending).await?;
    }
    Ok(())
}

/// Sends a new code to an unverified address, within the limits. Answers
/// the same for unknown and verified addresses, and whether or not a limit
/// held the code back.
pub async fn resend_otp(ctx: &Ctx, email: &Email, client: &str) -> Result<()> {
    if !may_send_code(ctx, email, client).await? {
        return Ok(());
    }
    match ctx.users.user_by_email(email).await? {
        Some(user) if !user.email_verified => {
            // The new code stands for the same registration as the last one,
            // so that asking for it again cannot swap whose credentials the
            // code carries.
            let now = ctx.clock.now();
            let pending = ctx.otps.otp(email, now).await?.and_then(|r| r.pending);
            send_code(ctx, &user, pending).await
        }
        _ => Ok(()),
    }
}

/// Counts a code for `email` requested by `client` against the limits, and
/// says whether it may go out: one per interval and a few per hour for the
/// address and client, a few times that for the address from all clients,
/// except that a client's first code in the hour is never held back by
/// the others' requests.
async fn may_send_code(ctx: &Ctx, email: &Email, client: &str) -> Result<bool> {
    let s = &ctx.settings;
    let now = ctx.clock.now();
    let email = email.as_str();
    let interval = format!("otp-interval#{email}#{client}");
    if is_limited(
        ctx.limiter
            .hit(&interval, s.otp_resend_interval_secs, 1, now)
            .await?,
    ) {
        return Ok(false);
    }
    let hourly = format!("otp-hour#{email}#{client}");
    let first = !is_limited(ctx.limiter.peek(&hourly, 3600, 1, now).await?);
    if is_limited(
        ctx.limiter
            .hit(&hourly, 3600, s.otp_max_per_hour, now)
            .await?,
    ) {
        return Ok(false);
    }
    let all = format!("otp-hour#{email}");
    let address_limit = s.otp_max_per_hour.saturating_mul(ADDRESS_CODES_FACTOR);
    let within = !is_limited(ctx.limiter.hit(&all, 3600, address_limit, now).await?);
    Ok(within || first)
}

fn is_limited(decision: RateDecision) -> bool {
    matches!(decision, RateDecision::Limited { .. })
}

/// Mails `user` a new code (replacing any earlier one), carrying `pending`
/// credentials if a registration asked for them. The mail greets the
/// username the code will give the account.
async fn send_code(ctx: &Ctx, user: &User, pending: Option<PendingCredentials>) -> Result<()> {
    mail_code(ctx, user, pending, otp_mail).await
}

/// Stores a new code for `user`'s address (replacing any earlier one, and
/// carrying `pending` credentials) and mails it, worded by `mail`.
async fn mail_code(
    ctx: &Ctx,
    user: &User,
    pending: Option<PendingCredentials>,
    mail: fn(&Email, &Username, &str, i64) -> Mail,
) -> Result<()> {
    let code = OtpHasher::generate()?;
    let now = ctx.clock.now();
    let name = pending
        .as_ref()
        .map_or(&user.username, |p| &p.username)
        .clone();
    let record = OtpRecord {
        email: user.email.clone(),
        user_id: user.id.clone(),
        code_hash: ctx.otp.hash(&user.email, &code)?,
        expires_at: now.plus_secs(ctx.settings.otp_ttl_secs),
        attempts: 0,
        pending,
    };
    ctx.otps.put_otp(&record).await?;
    ctx.mailer
        .send(&mail(
            &user.email,
            &name,
            &code,
            ctx.settings.otp_ttl_secs / 60,
        ))
        .await
}

fn otp_mail(to: &Email, username: &Username, code: &str, minutes: i64) -> Mail {
    let name = username.as_str();
    Mail {
        to: to.clone(),
        subject: format!("Your verification code: {code}"),
        text: format!(
            "Hello {name},\n\nYour verification code is {code}.\n\
             It expires in {minutes} minutes. If you did not sign up, ignore this mail.\n"
        ),
        html: format!(
            "<p>Hello {name},</p><p>Your verification code is <strong>{code}</strong>.</p>\
             <p>It expires in {minutes} minutes. If you did not sign up, ignore this mail.</p>",
            name = html_escape(name)
        ),
    }
}

fn reset_mail(to: &Email, username: &Username, code: &str, minutes: i64) -> Mail {
    let name = username.as_str();
    Mail {
        to: to.clone(),
        subject: format!("Your password reset code: {code}"),
        text: format!(
            "Hello {name},\n\nYour password reset code is {code}.\n\
             It expires in {minutes} minutes. If you did not ask for it, ignore this mail: \
             your password stays as it is.\n"
        ),
        html: format!(
            "<p>Hello {name},</p><p>Your password reset code is <strong>{code}</strong>.</p>\
             <p>It expires in {minutes} minutes. If you did not ask for it, ignore this mail: \
             your password stays as it is.</p>",
            name = html_escape(name)
        ),
    }
}

fn html_escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The one answer to every wrong, expired or exhausted code.
fn invalid_code() -> Error {
    Error::field("otp", "Invalid or expired code.")
}

/// Verifies an address with the code mailed to it. Each call counts as an
/// attempt before the code is compared; after the allowed number of attempts
/// the code is dead, even for the right digits.
pub async fn verify_email(ctx: &Ctx, email: &Email, code: &str) -> Result<()> {
    if !is_code_shaped(code) {
        return Err(Error::field("otp", "Enter the 6-digit code."));
    }
    let now = ctx.clock.now();
    let Some(record) = ctx
        .otps
        .take_attempt(email, now, ctx.settings.otp_max_attempts)
        .await?
    else {
        return Err(invalid_code());
    };
    if !ctx.otp.matches(email, code, &record.code_hash)? {
        return Err(invalid_code());
    }
    if let Some(pending) = record.pending {
        take_credentials(ctx, &record.user_id, pending).await?;
    }
    ctx.users.mark_verified(&record.user_id).await?;
    ctx.otps.delete_otp(email).await
}

/// Gives the account the credentials a registration asked for. If the
/// username was taken meanwhile, the account keeps its own (the password
/// is what matters for who owns it; the username can be changed later).
async fn take_credentials(ctx: &Ctx, user: &UserId, pending: PendingCredentials) -> Result<()> {
    let mut update = ProfileUpdate {
        username: Some(pending.username),
        password_hash: Some(pending.password_hash),
        password_changed_at: Some(ctx.clock.now()),
        ..ProfileUpdate::default()
    };
    if let UpdateProfile::UsernameTaken = ctx.users.update_profile(user, &update).await? {
        update.username = None;
        ctx.users.update_profile(user, &update).await?;
    }
    Ok(())
}

/// Mails a password reset code to the address if it has an account, within
/// the same limits as verification codes (they share the one code an
/// address has). Answers the same whatever the address and the limits.
pub async fn request_password_reset(ctx: &Ctx, email: &Email, client: &str) -> Result<()> {
    if !may_send_code(ctx, email, client).await? {
        return Ok(());
    }
    let Some(user) = ctx.users.user_by_email(email).await? else {
        return Ok(());
    };
    let pending = if user.email_verified {
        None
    } else {
        ctx.otps
            .otp(email, ctx.clock.now())
            .await?
            .and_then(|r| r.pending)
    };
    mail_code(ctx, &user, pending, reset_mail).await
}

/// Sets a new password with a code mailed to the address: the account's
/// sessions end (refresh tokens issued before are refused, its sockets are
/// closed, new sockets need a token issued after), and the address counts
/// as verified (the code proves the inbox). `new_password` is checked
/// against the account's username and address.
pub async fn reset_password(
    ctx: &Ctx,
    email: &Email,
    code: &str,
    new_password: &str,
) -> Result<()> {
    if !is_code_shaped(code) {
        return Err(Error::field("otp", "Enter the 6-digit code."));
    }
    let now = ctx.clock.now();
    let Some(record) = ctx
        .otps
        .take_attempt(email, now, ctx.settings.otp_max_attempts)
        .await?
    else {
        return Err(invalid_code());
    };
    if !ctx.otp.matches(email, code, &record.code_hash)? {
        return Err(invalid_code());
    }
    let user = ctx
        .users
        .user_by_id(&record.user_id)
        .await?
        .ok_or_else(invalid_code)?;
    let username = record
        .pending
        .as_ref()
        .map_or(&user.username, |p| &p.username);
    let password = Password::parse_new(new_password, Some(username.as_str()), Some(email.as_str()))
        .map_err(|message| Error::field("new_password", &message))?;
    let hash = password::hash(&password).await?;
    if let Some(pending) = record.pending {
        take_credentials(ctx, &user.id, pending).await?;
    }
    let change = ProfileUpdate {
        password_hash: Some(hash),
        password_changed_at: Some(now),
        ..ProfileUpdate::default()
    };
    ctx.users.update_profile(&user.id, &change).await?;
    ctx.users.mark_verified(&user.id).await?;
    ctx.otps.delete_otp(email).await?;
    realtime::close_sockets_of(ctx, &user.id, None).await;
    Ok(())
}

/// Logs in with e-mail and password and returns a new token pair. Only
/// failures count against the limits (see the module's documentation).
pub async fn login(ctx: &Ctx, email: &Email, pw: &Password, client: &str) -> Result<TokenPair> {
    let now = ctx.clock.now();
    let max = ctx.settings.login_max_failures;
    let pair = (format!("login#{}#{client}", email.as_str()), max);
    let caller = (
        format!("login-client#{client}"),
        max.saturating_mul(CLIENT_FAILURES_FACTOR),
    );
    let address = (
        format!("login#{}", email.as_str()),
        max.saturating_mul(ADDRESS_FAILURES_FACTOR),
    );
    for (key, limit) in [&pair, &caller] {
        if let RateDecision::Limited { retry_after_secs } = ctx
            .limiter
            .peek(key, LOGIN_WINDOW_SECS, *limit, now)
            .await?
        {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    if is_limited(
        ctx.limiter
            .peek(&address.0, LOGIN_WINDOW_SECS, address.1, now)
            .await?,
    ) {
        tokio::time::sleep(LOGIN_BACKOFF).await;
    }
    let user = ctx.users.user_by_email(email).await?;
    let ok = password::verify(pw, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            for (key, limit) in [&pair, &caller] {
                ctx.limiter.hit(key, LOGIN_WINDOW_SECS, *limit, now).await?;
            }
            ctx.limiter
                .hit(&address.0, LOGIN_WINDOW_SECS, u32::MAX, now)
                .await?;
            return Err(Error::bad_credentials());
        }
    };
    // Only someone who knows the password learns that the address is unverified.
    if !user.email_verified {
        return Err(Error::Forbidden {
            detail: "E-mail address not verified. Enter the code we mailed you, or request a new one at /api/users/resend-otp/.".into(),
            code: "email_not_verified",
        });
    }
    let family = random::token_id()?;
    let jti = random::token_id()?;
    let record = refresh_record(ctx, &user.id, family, jti, now);
    ctx.tokens.put_refresh(&record).await?;
    sign_pair(ctx, &record, now)
}

fn refresh_record(
    ctx: &Ctx,
    user: &UserId,
    family: String,
    jti: String,
    now: Timestamp,
) -> RefreshRecord {
    RefreshRecord {
        jti,
        family,
        user_id: user.clone(),
        expires_at: now.plus_secs(ctx.settings.refresh_ttl_secs),
    }
}

fn sign_pair(ctx: &Ctx, refresh: &RefreshRecord, now: Timestamp) -> Result<TokenPair> {
    let access = ctx.jwt.sign(&Claims {
        sub: refresh.user_id.to_string(),
        token_type: TokenType::Access,
        exp: now.secs() + ctx.settings.access_ttl_secs,
        iat: now.secs(),
        jti: random::token_id()?,
        fam: Some(refresh.family.clone()),
    })?;
    let refresh = ctx.jwt.sign(&Claims {
        sub: refresh.user_id.to_string(),
        token_type: TokenType::Refresh,
        exp: refresh.expires_at.secs(),
        iat: now.secs(),
        jti: refresh.jti.clone(),
        fam: Some(refresh.family.clone()),
    })?;
    Ok(TokenPair { access, refresh })
}

/// Trades a refresh token for a new pair. The presented token is dead
/// afterwards; presenting it again revokes its whole family, which logs out
/// both the thief and the victim of a stolen token, and closes that
/// session's sockets. One exception: within `refresh_grace_secs` of the
/// rotation, the client that rotated it (two tabs of one browser refreshing
/// at once) gets the pair of the same successor instead.
pub async fn refresh(ctx: &Ctx, token: &str, client: &str) -> Result<TokenPair> {
    let now = ctx.clock.now();
    let claims = ctx.jwt.verify(token, TokenType::Refresh, now)?;
    let user = claims.user_id()?;
    let family = claims.fam.clone().ok_or_else(token_not_valid)?;
    let account = ctx.users.user_by_id(&user).await?;
    if account.is_none_or(|a| issued_before_password_change(&a, claims.iat)) {
        return Err(token_not_valid());
    }
    let next = refresh_record(ctx, &user, family.clone(), random::token_id()?, now);
    match ctx
        .tokens
        .rotate_refresh(&claims.jti, &next, now, client)
        .await?
    {
        Rotate::Rotated => sign_pair(ctx, &next, now),
        Rotate::Reused(Some(successor))
            if successor.client == client
                && now.millis() - successor.rotated_at.millis()
                    <= ctx.settings.refresh_grace_secs.saturating_mul(1000)
                && successor.expires_at > now =>
        {
            let same = RefreshRecord {
                jti: successor.jti,
                family,
                user_id: user,
                expires_at: successor.expires_at,
            };
            sign_pair(ctx, &same, now)
        }
        Rotate::Reused(_) => {
            let until = now.plus_secs(ctx.settings.refresh_ttl_secs);
            ctx.tokens.revoke_family(&family, until).await?;
            tracing::warn!(user = %user, "refresh token reused; token family revoked");
            realtime::close_sockets_of(ctx, &user, Some(&family)).await;
            Err(Error::Unauthorized {
                detail: "Token is blacklisted".into(),
                code: "token_not_valid",
            })
        }
        Rotate::Invalid => Err(token_not_valid()),
    }
}

/// Logs out: the refresh token's family is revoked, so neither it nor any
/// token rotated from it works again, and the sockets opened with that
/// session's access tokens are closed (no new one opens with them). Access
/// tokens live out their hour for REST.
pub async fn logout(ctx: &Ctx, token: &str) -> Result<()> {
    let now = ctx.clock.now();
    let claims = ctx.jwt.verify(token, TokenType::Refresh, now)?;
    let user = claims.user_id()?;
    let family = claims.fam.ok_or_else(token_not_valid)?;
    ctx.tokens
        .revoke_family(&family, now.plus_secs(ctx.settings.refresh_ttl_secs))
        .await?;
    realtime::close_sockets_of(ctx, &user, Some(&family)).await;
    Ok(())
}

/// Whether a token issued at `iat` (seconds) predates `user`'s last password
/// change. Tokens carry whole seconds, so one issued within the second of
/// the change is taken as after it (a client signing in again right after
/// a reset must not be refused).
pub fn issued_before_password_change(user: &User, iat: i64) -> bool {
    user.password_changed_at.is_some_and(|at| iat < at.secs())
}

/// The user an access token was issued to, if the token is valid now.
pub fn authenticate(ctx: &Ctx, access_token: &str) -> Result<UserId> {
    access_claims(ctx, access_token)?.user_id()
}

/// An access token's claims, if the token is valid now.
pub fn access_claims(ctx: &Ctx, access_token: &str) -> Result<Claims> {
    ctx.jwt
        .verify(access_token, TokenType::Access, ctx.clock.now())
}
