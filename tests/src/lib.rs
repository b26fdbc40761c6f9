//! Helpers shared by the test suites for the AWS and Redis adapters: the
//! emulator (moto server) and the `redis-server` that `.ci/test-all` starts
//! on free loopback ports and names in `MOTO_ENDPOINT` and `REDIS_URL`, and
//! fresh resources on them for each test. With `DYNAMODB_ENDPOINT` set
//! (Amazon's DynamoDB Local), DynamoDB goes there and S3 and SES stay on moto.

use aws_config::SdkConfig;
use chat_aws::setup::emulator_sdk_config;
use chat_core::security::random;

/// A complete 1x1 PNG, for picture uploads.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// The variable that names the emulator's endpoint.
pub const MOTO_ENDPOINT: &str = "MOTO_ENDPOINT";

/// The emulator's endpoint. Panics with instructions when it is not set, so
/// that an AWS suite never passes by not running.
pub fn moto_endpoint() -> String {
    std::env::var(MOTO_ENDPOINT).unwrap_or_else(|_| {
        panic!("{MOTO_ENDPOINT} is not set: run the AWS suites with `bash .ci/test-all`, which starts moto")
    })
}

/// The variable that names a DynamoDB endpoint of its own (Amazon's
/// DynamoDB Local); unset, DynamoDB is moto's too.
pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";

/// The DynamoDB endpoint when it is not moto's.
pub fn dynamodb_endpoint() -> Option<String> {
    std::env::var(DYNAMODB_ENDPOINT)
        .ok()
        .filter(|v| !v.is_empty())
}

/// Sends DynamoDB to its own endpoint, the way `AWS_ENDPOINT_URL_DYNAMODB`
/// does for a configuration loaded from the environment.
#[derive(Debug)]
struct DynamoDbEndpoint(String);

impl aws_types::service_config::LoadServiceConfig for DynamoDbEndpoint {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == "DynamoDB" && key.profile() == "endpoint_url").then(|| self.0.clone())
    }
}

/// The SDK configuration of the test emulators: moto at `endpoint`, and
/// DynamoDB at [`dynamodb_endpoint`] when that is set.
pub fn emulator_sdk(endpoint: &str) -> SdkConfig {
    let sdk = emulator_sdk_config(endpoint);
    match dynamodb_endpoint() {
        Some(dynamodb) => sdk
            .to_builder()
            .service_config(DynamoDbEndpoint(dynamodb))
            .build(),
        None => sdk,
    }
}

/// The variable that names the Redis server the tests use.
pub const REDIS_URL: &str = "REDIS_URL";

/// The Redis server's URL. Panics with instructions when it is not set, so
/// that a Redis suite never passes by not running.
pub fn redis_url() -> String {
    std::env::var(REDIS_URL).unwrap_or_else(|_| {
        panic!("{REDIS_URL} is not set: run the Redis suites with `bash .ci/test-all`, which starts redis-server")
    })
}

/// A fresh lower-case name.
pub fn unique(prefix: &str) -> String {
    let id = random::token_id()
        .unwrap_or_default()
        .to_lowercase()
        .replace(['_', '-'], "x");
    format!("{prefix}-{id}")
}

/// A table, a bucket and a verified sender of their own, on the emulator.
#[derive(Debug, Clone)]
pub struct AwsResources {
    /// Endpoint of the emulator.
    pub endpoint: String,
    /// SDK configuration pointing at it.
    pub sdk: SdkConfig,
    /// The DynamoDB table.
    pub table: String,
    /// The S3 bucket.
    pub bucket: String,
    /// The SES sender identity.
    pub mail_from: String,
}

/// Creates a table, a bucket and an SES identity for one test.
pub async fn provision() -> AwsResources {
    let endpoint = moto_endpoint();
    let sdk = emulator_sdk(&endpoint);
    let table = unique("chat");
    let bucket = unique("pictures");
    let mail_from = "no-reply@chat.test".to_owned();
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    chat_aws::table::create(&dynamo, &table)
        .await
        .expect("create table on the emulator");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket on the emulator");
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&mail_from)
        .send()
        .await
        .expect("verify sender on the emulator");
    AwsResources {
        endpoint,
        sdk,
        table,
        bucket,
        mail_from,
    }
}

/// A mail the emulator's SES accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body (moto keeps the HTML part, or the text part when there is none).
    pub body: String,
}

/// The mails the emulator accepted for `to`, oldest first, read from moto's
/// state API (`/moto-api/data.json`).
pub async fn sent_mail(endpoint: &str, to: &str) -> Vec<SentMail> {
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto state")
        .json()
        .await
        .expect("moto state JSON");
    let Some(messages) = data["ses"]["Message"].as_array() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for message in messages {
        let recipients: Vec<String> = message["destinations"]["ToAddresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if recipients.iter().any(|r| r == to) {
            out.push(SentMail {
                to: recipients,
                subject: message["subject"].as_str().unwrap_or_default().to_owned(),
                body: message["body"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    out
}
