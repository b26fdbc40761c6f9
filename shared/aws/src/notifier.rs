//! Pushes frames with the API Gateway management API (PostToConnection).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use chat_core::ports::{Delivery, Notifier};
use chat_core::Result;

use crate::sdk_error::translate;

/// Attempts per frame when API Gateway throttles.
const ATTEMPTS: u32 = 3;

/// Posts to the connections of one WebSocket API stage (the client's
/// endpoint is `https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
#[derive(Debug, Clone)]
pub struct ApiGatewayNotifier {
    client: Client,
}

impl ApiGatewayNotifier {
    /// A notifier over a client configured with the stage's endpoint.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Notifier for ApiGatewayNotifier {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<Delivery> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .post_to_connection()
                .connection_id(connection_id)
                .data(Blob::new(payload))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Delivery::Delivered),
                Err(e) => match e.as_service_error() {
                    Some(PostToConnectionError::GoneException(_)) => return Ok(Delivery::Gone),
                    Some(PostToConnectionError::LimitExceededException(_))
                        if attempt < ATTEMPTS =>
                    {
                        tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                    }
                    _ => return Err(translate("PostToConnection", e)),
                },
            }
        }
    }

    async fn close(&self, connection_id: &str) -> Result<()> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteConnectionError::GoneException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(translate("DeleteConnection", e)),
        }
    }
}
