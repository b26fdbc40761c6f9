//! Password hashing, JSON Web Tokens, one-time codes and randomness.

pub mod jwt;
pub mod otp;
pub mod password;
pub mod random;
