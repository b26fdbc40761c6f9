//! Settings of the AWS adapters and the context a function runs with.
//!
//! | variable | needed by | meaning |
//! |---|---|---|
//! | `TABLE_NAME` | every function | the DynamoDB table |
//! | `BUCKET_NAME` | routes that show or store pictures | the S3 bucket of pictures |
//! | `WEBSOCKET_ENDPOINT` | routes that push events | `https://{api}.execute-api.{region}.amazonaws.com/{stage}` |
//! | `PICTURE_URL_TTL_SECS` | | lifetime of presigned picture URLs (default 900) |
//! | `S3_FORCE_PATH_STYLE` | | `true` for emulators (moto, LocalStack) |
//! | `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>` | | standard SDK endpoint overrides |
//! | `LOCAL_ENDPOINT_URL` | | the same as `AWS_ENDPOINT_URL` when not empty: the template declares it empty so that `sam local`'s env-vars file can set it |
//! | `AWS_CA_BUNDLE`, `TLS_NATIVE_ROOTS` | | further roots to trust ([`crate::tls`]) |

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
/// The SDK configuration every client is built from.
pub use aws_config::SdkConfig;
use chat_core::adapters::{SystemClock, Unconfigured};
use chat_core::config::{Config, ConfigError};
use chat_core::ports::{BlobStore, Mailer, Notifier};
use chat_core::Ctx;

use crate::dynamo::DynamoStore;
use crate::metrics::RequestCounter;
use crate::notifier::ApiGatewayNotifier;
use crate::s3::S3BlobStore;
use crate::ses::SesMailer;
use crate::tls::{self, TlsError};

/// Where the AWS resources are.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// DynamoDB table.
    pub table: String,
    /// S3 bucket of pictures.
    pub bucket: Option<String>,
    /// Management endpoint of the WebSocket API stage.
    pub websocket_endpoint: Option<String>,
    /// Lifetime of presigned picture URLs.
    pub picture_url_ttl: Duration,
    /// Path-style S3 addressing (emulators).
    pub s3_force_path_style: bool,
}

impl AwsSettings {
    /// Reads the settings through `lookup` (the process environment in a Lambda).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ttl = match lookup("PICTURE_URL_TTL_SECS") {
            None => 900,
            Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                name: "PICTURE_URL_TTL_SECS",
                reason: format!("{raw:?} is not a number of seconds"),
            })?,
        };
        Ok(Self {
            table: lookup("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?,
            bucket: lookup("BUCKET_NAME"),
            websocket_endpoint: lookup("WEBSOCKET_ENDPOINT"),
            picture_url_ttl: Duration::from_secs(ttl),
            s3_force_path_style: lookup("S3_FORCE_PATH_STYLE")
                .is_some_and(|v| v == "true" || v == "1"),
        })
    }
}

/// Which clients a function needs besides DynamoDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// SES, for OTP mail.
    pub mail: bool,
    /// S3, for pictures.
    pub blobs: bool,
    /// API Gateway management, for pushing events.
    pub notifier: bool,
}

impl Needs {
    /// Everything (the local gateway on AWS adapters).
    pub const ALL: Needs = Needs {
        mail: true,
        blobs: true,
        notifier: true,
    };
    /// The WebSocket functions push events and show nothing with pictures.
    pub const WEBSOCKET: Needs = Needs {
        mail: false,
        blobs: false,
        notifier: true,
    };
}

/// The SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL*`, and whom to trust: [`crate::tls`]), loaded once per
/// cold start.
pub async fn load_sdk_config() -> Result<SdkConfig, TlsError> {
    let store = tls::trust_store(|name| std::env::var(name).ok())?;
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(tls::https_client(store)?);
    if let Some(url) = std::env::var("LOCAL_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        loader = loader.endpoint_url(url);
    }
    Ok(loader.load().await)
}

/// Opens the connection to DynamoDB during init, so that the first request
/// after a cold start does not pay for the TCP and TLS handshakes: one
/// eventually consistent read of a key no item has (0.5 read units). The
/// clients built from `sdk` share its HTTP client and so its connection
/// pool. At most one second and no retry: an endpoint that cannot be
/// reached must not hold the start up, and the request that needs the table
/// reports the failure properly; here it is only logged.
pub async fn open_connections(sdk: &SdkConfig, aws: &AwsSettings) {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    // Only the operation's deadline changes: the connection settings stay
    // the SDK configuration's, so the connection lands in the shared pool.
    let mut timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(1))
        .build();
    if let Some(base) = sdk.timeout_config() {
        timeouts.take_defaults_from(base);
    }
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), &aws.table);
    if let Err(e) = store.touch().await {
        tracing::warn!("opening the connection to DynamoDB at init: {e}");
    }
}

/// A capability was needed but its setting is missing.
#[derive(Debug, thiserror::Error)]
#[error("{capability} is needed by this function but {variable} is not set")]
pub struct MissingSetting {
    /// What was needed.
    pub capability: &'static str,
    /// The variable that configures it.
    pub variable: &'static str,
}

/// The context of a function on AWS: DynamoDB for every store, and only the
/// other clients `needs` names. `counter`, when given, counts DynamoDB requests.
pub fn context(
    config: &Config,
    aws: &AwsSettings,
    sdk: &SdkConfig,
    needs: Needs,
    counter: Option<RequestCounter>,
) -> Result<Ctx, MissingSetting> {
    let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(counter) = counter {
        dynamo = dynamo.interceptor(counter);
    }
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
        &aws.table,
    ));
    let mailer: Arc<dyn Mailer> = if needs.mail {
        Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            config.settings.mail_from.clone(),
        ))
    } else {
        Arc::new(Unconfigured("mail"))
    };
    let blobs: Arc<dyn BlobStore> = if needs.blobs {
        let bucket = aws.bucket.clone().ok_or(MissingSetting {
            capability: "the picture bucket",
            variable: "BUCKET_NAME",
        })?;
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(aws.s3_force_path_style)
            .build();
        Arc::new(S3BlobStore::new(
            aws_sdk_s3::Client::from_conf(s3),
            bucket,
            aws.picture_url_ttl,
        ))
    } else {
        Arc::new(Unconfigured("picture storage"))
    };
    let notifier: Arc<dyn Notifier> = if needs.notifier {
        let endpoint = aws.websocket_endpoint.clone().ok_or(MissingSetting {
            capability: "pushing WebSocket events",
            variable: "WEBSOCKET_ENDPOINT",
        })?;
        let management = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Arc::new(ApiGatewayNotifier::new(
            aws_sdk_apigatewaymanagement::Client::from_conf(management),
        ))
    } else {
        Arc::new(Unconfigured("WebSocket push"))
    };
    Ok(Ctx::with_store(
        config,
        store,
        notifier,
        mailer,
        blobs,
        Arc::new(SystemClock),
        Arc::new(chat_core::adapters::UlidGenerator::default()),
    ))
}

/// An SDK configuration for an AWS emulator (moto, LocalStack, DynamoDB
/// Local) at `endpoint`, with fixed dummy credentials. For tests and local
/// runs only: real deployments use [`load_sdk_config`].
pub fn emulator_sdk_config(endpoint: &str) -> SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "emulator",
        )))
        .build()
}

/// Creates the table, the bucket and the SES sender identity if they do not
/// exist yet: for a local run against an emulator (`CREATE_RESOURCES=true`).
/// Deployments get them from the SAM template instead.
pub async fn create_dev_resources(
    sdk: &SdkConfig,
    aws: &AwsSettings,
    mail_from: &str,
) -> Result<(), chat_core::Error> {
    use crate::sdk_error::{code, translate};
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    match dynamo.describe_table().table_name(&aws.table).send().await {
        Ok(_) => {}
        Err(e) if code(&e) == Some("ResourceNotFoundException") => {
            crate::table::create(&dynamo, &aws.table).await?;
        }
        Err(e) => return Err(translate("DescribeTable", e)),
    }
    if let Some(bucket) = &aws.bucket {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(aws.s3_force_path_style)
                .build(),
        );
        match s3.create_bucket().bucket(bucket).send().await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    code(&e),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) => {}
            Err(e) => return Err(translate("CreateBucket", e)),
        }
    }
    // "Chat <no-reply@example.com>" verifies the address inside the brackets.
    let address = mail_from
        .rsplit_once('<')
        .map_or(mail_from, |(_, rest)| rest.trim_end_matches('>'))
        .trim();
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(translate("CreateEmailIdentity", e)),
    }
}
