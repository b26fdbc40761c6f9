//! The token signing secret, read from SSM Parameter Store at cold start so
//! that it never sits in the template or the function's configuration.

use aws_config::SdkConfig;
use chat_core::{Error, Result};

use crate::sdk_error::translate;

/// The decrypted value of the SecureString parameter `name`.
pub async fn from_ssm(sdk: &SdkConfig, name: &str) -> Result<String> {
    let output = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| translate("GetParameter", e))?;
    output
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_owned)
        .ok_or_else(|| Error::internal(format!("SSM parameter {name} has no value")))
}
