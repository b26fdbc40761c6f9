//! The one DynamoDB table, defined once. The SAM template declares the same
//! keys, index and TTL attribute; a test checks that they agree.
//!
//! | item | `pk` | `sk` | notes |
//! |---|---|---|---|
//! | user | `USER#<id>` | `PROFILE` | |
//! | e-mail claim | `EMAIL#<email>` | `EMAIL` | makes e-mails unique |
//! | username claim | `USERNAME#<lower>` | `USERNAME` | makes usernames unique |
//! | OTP | `OTP#<email>` | `OTP` | TTL |
//! | refresh token | `REFRESH#<jti>` | `REFRESH` | TTL |
//! | revoked family | `FAMILY#<id>` | `FAMILY` | TTL |
//! | rate window | `RATE#<key>#<start>` | `RATE` | TTL |
//! | room | `ROOM#<id>` | `META` | counts, last message |
//! | direct pair | `DIRECT#<a>#<b>` | `DIRECT` | one room per pair |
//! | member | `ROOM#<id>` | `MEMBER#<user>` | `gsi1`: `USER#<user>` / `ROOM#<id>` |
//! | message | `ROOM#<id>` | `MSG#<ulid>` | ids sort by time |
//! | client id | `ROOM#<id>` | `CLIENT#<user>#<client id>` | idempotent sends |
//! | receipts | `ROOM#<id>` | `RECEIPTS` | `d#<user>`, `r#<user>` watermarks |
//! | connection | `CONN#<id>` | `CONN` | TTL |
//! | user's connections | `USER#<id>` | `CONNS` | `c_<id>` per connection (expiry, room), count `n`; TTL |

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// The index from users to their rooms.
pub const GSI1: &str = "gsi1";
/// Partition key of [`GSI1`].
pub const GSI1_PK: &str = "gsi1pk";
/// Sort key of [`GSI1`].
pub const GSI1_SK: &str = "gsi1sk";
/// The TTL attribute (epoch seconds).
pub const TTL: &str = "ttl";

/// The table's definition as data, for the template consistency check.
pub fn definition() -> serde_json::Value {
    serde_json::json!({
        "keys": { "partition": PK, "sort": SK },
        "attributes": [PK, SK, GSI1_PK, GSI1_SK],
        "indexes": [{ "name": GSI1, "partition": GSI1_PK, "sort": GSI1_SK, "projection": "ALL" }],
        "ttl": TTL,
    })
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, aws_sdk_dynamodb::error::BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
}

fn string_attribute(
    name: &str,
) -> Result<AttributeDefinition, aws_sdk_dynamodb::error::BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

/// Creates the table (on-demand) with its index and TTL, as the template
/// does; for tests, emulators and the local run on DynamoDB.
pub async fn create(client: &Client, name: &str) -> Result<(), chat_core::Error> {
    let build = crate::sdk_error::build_error;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash).map_err(build)?)
        .key_schema(key(SK, KeyType::Range).map_err(build)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1_PK, KeyType::Hash).map_err(build)?)
                .key_schema(key(GSI1_SK, KeyType::Range).map_err(build)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build)?,
        );
    for attribute in [PK, SK, GSI1_PK, GSI1_SK] {
        request = request.attribute_definitions(string_attribute(attribute).map_err(build)?);
    }
    request
        .send()
        .await
        .map_err(|e| crate::sdk_error::translate("CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| crate::sdk_error::translate("UpdateTimeToLive", e))?;
    Ok(())
}
