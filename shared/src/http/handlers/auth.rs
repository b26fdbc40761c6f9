//! Registration, e-mail verification, login, token refresh and logout.

use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::openapi::NewPassword;

use super::{ok, ApiRequest, ApiResponse};
use crate::domain::{Email, Password, Username};
use crate::error::Validator;
use crate::fields::Field;
use crate::http::body::json_body;
use crate::http::views::{Detail, Registered, Tokens};
use crate::usecases::auth;
use crate::{Ctx, Error, Result};

/// `POST /api/users/register/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[serde(default)]
    #[schema(value_type = Username, required = true)]
    username: Field<String>,
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
    #[serde(default)]
    #[schema(value_type = NewPassword, required = true)]
    password: Field<String>,
    /// If sent, must equal `password`.
    #[serde(default)]
    #[schema(value_type = String)]
    password2: Field<String>,
}

impl RegisterRequest {
    /// The new account's details, or every invalid field.
    pub fn validate(self) -> Result<auth::Registration> {
        let mut v = Validator::new();
        let username = self.username.required(&mut v, "username");
        let email = self.email.required(&mut v, "email");
        let password = self.password.required(&mut v, "password");
        let password2 = self.password2.optional(&mut v, "password2");
        let username = username.and_then(|u| v.check("username", Username::parse(&u)));
        let email = email.and_then(|e| v.check("email", Email::parse(&e)));
        let password = password.and_then(|p| {
            if password2.as_ref().is_some_and(|p2| *p2 != p) {
                v.add("password2", "Password fields didn't match.");
                return None;
            }
            v.check(
                "password",
                Password::parse_new(
                    &p,
                    username.as_ref().map(Username::as_str),
                    email.as_ref().map(Email::as_str),
                ),
            )
        });
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) => Ok(auth::Registration {
                username,
                email,
                password,
            }),
            _ => Err(v.into_error()),
        }
    }
}

pub async fn register(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let registration = json_body::<RegisterRequest>(req)?.validate()?;
    let email = registration.email.as_str().to_owned();
    auth::register(ctx, registration, &auth::client_tag(req.source_ip)).await?;
    Ok(ApiResponse::json(
        StatusCode::CREATED,
        &Registered {
            detail: "Registration received. If the address can be used, a verification code has been sent to it.",
            email,
        },
    ))
}

/// `POST /api/users/verify-email/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[0-9]{6}$")]
    otp: Field<String>,
}

impl VerifyEmailRequest {
    /// The address and the code as typed (trimmed).
    pub fn validate(self) -> Result<(Email, String)> {
        let mut v = Validator::new();
        let email = self.email.required(&mut v, "email");
        let otp = self.otp.required(&mut v, "otp");
        let email = email.and_then(|e| v.check("email", Email::parse(&e)));
        match (email, otp) {
            (Some(email), Some(otp)) => Ok((email, otp.trim().to_owned())),
            _ => Err(v.into_error()),
        }
    }
}

pub async fn verify_email(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let (email, otp) = json_body::<VerifyEmailRequest>(req)?.validate()?;
    auth::verify_email(ctx, &email, &otp).await?;
    ok(&Detail::new("Email verified successfully."))
}

/// The one field of a body that names an address.
fn required_email(email: Field<String>) -> Result<Email> {
    let mut v = Validator::new();
    email
        .required(&mut v, "email")
        .and_then(|e| v.check("email", Email::parse(&e)))
        .ok_or_else(|| v.into_error())
}

/// `POST /api/users/resend-otp/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResendOtpRequest {
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
}

impl ResendOtpRequest {
    /// The address.
    pub fn validate(self) -> Result<Email> {
        required_email(self.email)
    }
}

pub async fn resend_otp(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let email = json_body::<ResendOtpRequest>(req)?.validate()?;
    auth::resend_otp(ctx, &email, &auth::client_tag(req.source_ip)).await?;
    ok(&Detail::new(
        "If the address is registered and not yet verified, a new code has been sent.",
    ))
}

/// `POST /api/users/token/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 128)]
    password: Field<String>,
}

impl TokenRequest {
    /// The credentials. Both fields must be sent; a value that cannot be an
    /// address or a password is wrong credentials, like any other.
    pub fn validate(self) -> Result<(Email, Password)> {
        let mut v = Validator::new();
        let email = self.email.required(&mut v, "email");
        let password = self.password.required(&mut v, "password");
        v.finish()?;
        let email = email.and_then(|e| Email::parse(&e).ok());
        let password = password.and_then(|p| Password::parse_login(&p));
        email.zip(password).ok_or_else(Error::bad_credentials)
    }
}

pub async fn token(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let (email, password) = json_body::<TokenRequest>(req)?.validate()?;
    let pair = auth::login(ctx, &email, &password, &auth::client_tag(req.source_ip)).await?;
    ok(&Tokens::from(pair))
}

/// `POST /api/users/token/refresh/` and `POST /api/users/logout/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    refresh: Field<String>,
}

impl RefreshRequest {
    /// The refresh token as sent (checked by the use-case).
    pub fn validate(self) -> Result<String> {
        let mut v = Validator::new();
        self.refresh
            .required(&mut v, "refresh")
            .ok_or_else(|| v.into_error())
    }
}

pub async fn token_refresh(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let refresh = json_body::<RefreshRequest>(req)?.validate()?;
    let pair = auth::refresh(ctx, &refresh, &auth::client_tag(req.source_ip)).await?;
    ok(&Tokens::from(pair))
}

pub async fn logout(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let refresh = json_body::<RefreshRequest>(req)?.validate()?;
    auth::logout(ctx, &refresh).await?;
    ok(&Detail::new("Logged out."))
}

/// `POST /api/users/password-reset/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
}

impl PasswordResetRequest {
    /// The address.
    pub fn validate(self) -> Result<Email> {
        required_email(self.email)
    }
}

pub async fn password_reset(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let email = json_body::<PasswordResetRequest>(req)?.validate()?;
    auth::request_password_reset(ctx, &email, &auth::client_tag(req.source_ip)).await?;
    ok(&Detail::new(
        "If the address has an account, a code to reset its password has been sent to it.",
    ))
}

/// `POST /api/users/password-reset/confirm/`
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirmRequest {
    #[serde(default)]
    #[schema(value_type = Email, required = true)]
    email: Field<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[0-9]{6}$")]
    otp: Field<String>,
    #[serde(default)]
    #[schema(value_type = NewPassword, required = true)]
    new_password: Field<String>,
}

impl PasswordResetConfirmRequest {
    /// The address, the code as typed (trimmed) and the new password (checked
    /// against the account's username by the use-case).
    pub fn validate(self) -> Result<(Email, String, String)> {
        let mut v = Validator::new();
        let email = self.email.required(&mut v, "email");
        let otp = self.otp.required(&mut v, "otp");
        let new_password = self.new_password.required(&mut v, "new_password");
        let email = email.and_then(|e| v.check("email", Email::parse(&e)));
        let new_password = new_password.and_then(|p| {
            v.check(
                "new_password",
                Password::parse_new(&p, None, email.as_ref().map(Email::as_str)),
            )
            .map(|_| p)
        });
        match (email, otp, new_password) {
            (Some(email), Some(otp), Some(new_password)) => {
                Ok((email, otp.trim().to_owned(), new_password))
            }
            _ => Err(v.into_error()),
        }
    }
}

pub async fn password_reset_confirm(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse> {
    let (email, otp, new_password) = json_body::<PasswordResetConfirmRequest>(req)?.validate()?;
    auth::reset_password(ctx, &email, &otp, &new_password).await?;
    ok(&Detail::new(
        "Password changed. Every session was signed out; sign in with the new password.",
    ))
}
