//! The context of ports a use-case runs over.

use std::sync::Arc;

use crate::config::{Config, Settings};
use crate::ports::{
    BlobStore, Clock, ConnectionStore, IdGenerator, Mailer, MessageStore, Notifier, OtpStore,
    RateLimiter, ReceiptStore, RoomStore, TokenStore, UserStore,
};
use crate::security::jwt::JwtKeys;
use crate::security::otp::OtpHasher;

/// The ports and keys a request is served with. Built once per process
/// (per Lambda cold start), shared by every request.
#[derive(Clone)]
pub struct Ctx {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// E-mail verification codes.
    pub otps: Arc<dyn OtpStore>,
    /// Refresh tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Rooms and members.
    pub rooms: Arc<dyn RoomStore>,
    /// Messages.
    pub messages: Arc<dyn MessageStore>,
    /// Rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// Open WebSocket connections.
    pub connections: Arc<dyn ConnectionStore>,
    /// Delivery and read watermarks.
    pub receipts: Arc<dyn ReceiptStore>,
    /// Pushes frames to connections.
    pub notifier: Arc<dyn Notifier>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Profile pictures.
    pub blobs: Arc<dyn BlobStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// New ids.
    pub ids: Arc<dyn IdGenerator>,
    /// Token signing.
    pub jwt: JwtKeys,
    /// OTP hashing.
    pub otp: OtpHasher,
    /// Limits and lifetimes.
    pub settings: Settings,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// A context over one store that implements every store port. The
    /// binaries choose the adapters; this only shares them out.
    pub fn with_store<S>(
        config: &Config,
        store: Arc<S>,
        notifier: Arc<dyn Notifier>,
        mailer: Arc<dyn Mailer>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self
    where
        S: UserStore
            + OtpStore
            + TokenStore
            + RoomStore
            + MessageStore
            + RateLimiter
            + ConnectionStore
            + ReceiptStore
            + 'static,
    {
        let secret = config.jwt_secret.expose();
        Self {
            users: store.clone(),
            otps: store.clone(),
            tokens: store.clone(),
            rooms: store.clone(),
            messages: store.clone(),
            connections: store.clone(),
            receipts: store.clone(),
            limiter: store,
            notifier,
            mailer,
            blobs,
            clock,
            ids,
            jwt: JwtKeys::new(secret),
            otp: OtpHasher::new(&[b"otp:".as_slice(), secret].concat()),
            settings: config.settings.clone(),
        }
    }
}
