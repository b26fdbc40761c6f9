//! Registration, e-mail verification, login and token refresh.
//!
//! Register, resend-otp and login answer the same way whether or not an
//! address is registered, and take about as long (a password hash is
//! computed either way), so that they cannot be used to find out who has an
//! account. Rate limits apply per address, registered or not.

use crate::domain::{Email, Password, ProfileText, Timestamp, User, UserId, Username};
use crate::ports::{CreateUser, Mail, OtpRecord, RateDecision, RefreshRecord, Rotate};
use crate::security::jwt::{token_not_valid, Claims, TokenType};
use crate::security::otp::{is_code_shaped, OtpHasher};
use crate::security::{password, random};
use crate::{Ctx, Error, Result};

/// Window of the login attempt limit.
const LOGIN_WINDOW_SECS: u64 = 15 * 60;

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
/// taken, nothing is created and the answer is the same; the owner gets a
/// new code if still unverified.
pub async fn register(ctx: &Ctx, input: Registration) -> Result<()> {
    // Hash first, so that a taken address costs the same time as a new one.
    let password_hash = password::hash(&input.password).await?;
    if let Some(existing) = ctx.users.user_by_email(&input.email).await? {
        return remind_existing(ctx, &existing).await;
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
    };
    match ctx.users.create_user(&user).await? {
        CreateUser::Created => {
            allow_code(ctx, &user.email).await?;
            send_code(ctx, &user).await
        }
        CreateUser::EmailTaken => {
            // Lost a race with another registration of the same address.
            match ctx.users.user_by_email(&user.email).await? {
                Some(existing) => remind_existing(ctx, &existing).await,
                None => Ok(()),
            }
        }
        CreateUser::UsernameTaken => Err(Error::field(
            "username",
            "A user with that username already exists.",
        )),
    }
}

/// A registration attempt on a taken address: a fresh code if the account is
/// unverified, within the address's limits; otherwise nothing.
async fn remind_existing(ctx: &Ctx, existing: &User) -> Result<()> {
    if existing.email_verified {
        return Ok(());
    }
    match allow_code(ctx, &existing.email).await {
        Ok(()) => send_code(ctx, existing).await,
        Err(Error::RateLimited { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sends a new code to an unverified address, within the per-address limits.
/// Answers the same for unknown and verified addresses.
pub async fn resend_otp(ctx: &Ctx, email: &Email) -> Result<()> {
    allow_code(ctx, email).await?;
    match ctx.users.user_by_email(email).await? {
        Some(user) if !user.email_verified => send_code(ctx, &user).await,
        _ => Ok(()),
    }
}

/// Counts a code sent to `email` against its limits: one per interval and a
/// few per hour.
async fn allow_code(ctx: &Ctx, email: &Email) -> Result<()> {
    let s = &ctx.settings;
    let now = ctx.clock.now();
    let limits = [
        ("otp-interval", s.otp_resend_interval_secs, 1),
        ("otp-hour", 3600, s.otp_max_per_hour),
    ];
    for (name, window, limit) in limits {
        let key = format!("{name}#{}", email.as_str());
        if let RateDecision::Limited { retry_after_secs } =
            ctx.limiter.hit(&key, window, limit, now).await?
        {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    Ok(())
}

async fn send_code(ctx: &Ctx, user: &User) -> Result<()> {
    let code = OtpHasher::generate()?;
    let now = ctx.clock.now();
    let record = OtpRecord {
        email: user.email.clone(),
        user_id: user.id.clone(),
        code_hash: ctx.otp.hash(&user.email, &code)?,
        expires_at: now.plus_secs(ctx.settings.otp_ttl_secs),
        attempts: 0,
    };
    ctx.otps.put_otp(&record).await?;
    ctx.mailer
        .send(&otp_mail(user, &code, ctx.settings.otp_ttl_secs / 60))
        .await
}

fn otp_mail(user: &User, code: &str, minutes: i64) -> Mail {
    let name = user.username.as_str();
    Mail {
        to: user.email.clone(),
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
    ctx.users.mark_verified(&record.user_id).await?;
    ctx.otps.delete_otp(email).await
}

/// Logs in with e-mail and password and returns a new token pair.
pub async fn login(ctx: &Ctx, email: &Email, pw: &Password) -> Result<TokenPair> {
    let now = ctx.clock.now();
    let key = format!("login#{}", email.as_str());
    if let RateDecision::Limited { retry_after_secs } = ctx
        .limiter
        .hit(
            &key,
            LOGIN_WINDOW_SECS,
            ctx.settings.login_max_failures,
            now,
        )
        .await?
    {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let user = ctx.users.user_by_email(email).await?;
    let ok = password::verify(pw, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(Error::bad_credentials()),
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
        fam: None,
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
/// both the thief and the victim of a stolen token.
pub async fn refresh(ctx: &Ctx, token: &str) -> Result<TokenPair> {
    let now = ctx.clock.now();
    let claims = ctx.jwt.verify(token, TokenType::Refresh, now)?;
    let user = claims.user_id()?;
    let family = claims.fam.clone().ok_or_else(token_not_valid)?;
    let next = refresh_record(ctx, &user, family.clone(), random::token_id()?, now);
    match ctx.tokens.rotate_refresh(&claims.jti, &next, now).await? {
        Rotate::Rotated => sign_pair(ctx, &next, now),
        Rotate::Reused => {
            let until = now.plus_secs(ctx.settings.refresh_ttl_secs);
            ctx.tokens.revoke_family(&family, until).await?;
            tracing::warn!(user = %user, "refresh token reused; token family revoked");
            Err(Error::Unauthorized {
                detail: "Token is blacklisted".into(),
                code: "token_not_valid",
            })
        }
        Rotate::Invalid => Err(token_not_valid()),
    }
}

/// Logs out: the refresh token's family is revoked, so neither it nor any
/// token rotated from it works again. Access tokens live out their hour.
pub async fn logout(ctx: &Ctx, token: &str) -> Result<()> {
    let now = ctx.clock.now();
    let claims = ctx.jwt.verify(token, TokenType::Refresh, now)?;
    let family = claims.fam.ok_or_else(token_not_valid)?;
    ctx.tokens
        .revoke_family(&family, now.plus_secs(ctx.settings.refresh_ttl_secs))
        .await
}

/// The user an access token was issued to, if the token is valid now.
pub fn authenticate(ctx: &Ctx, access_token: &str) -> Result<UserId> {
    ctx.jwt
        .verify(access_token, TokenType::Access, ctx.clock.now())?
        .user_id()
}
