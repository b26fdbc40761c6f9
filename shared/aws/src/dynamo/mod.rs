//! Every store port on one DynamoDB table (see [`crate::table`]).
//!
//! Uniqueness and multi-item changes use transactions and condition
//! expressions, so concurrent calls never leave duplicates or half-written
//! state. Expiring items carry the TTL attribute *and* are checked on read,
//! since DynamoDB deletes expired items only eventually. No operation scans.

mod connections;
mod item;
mod keys;
mod messages;
mod otps;
mod rate;
mod receipts;
mod rooms;
mod tokens;
mod users;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

use crate::sdk_error::{build_error, translate};
use crate::table::{PK, SK};
use chat_core::Result;

/// Items per BatchGetItem request (DynamoDB's limit).
const BATCH_GET_MAX: usize = 100;
/// Attempts at a batch before giving up on throttled keys.
const BATCH_ATTEMPTS: usize = 5;

/// The store: one client, one table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    appends: std::sync::Arc<messages::AppendQueues>,
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            appends: std::sync::Arc::default(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads a key no item has (eventually consistent, 0.5 read units): a
    /// request that opens the connection and checks the table is reachable.
    pub async fn touch(&self) -> Result<()> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(PK, item::s("WARMUP"))
            .key(SK, item::s("WARMUP"))
            .projection_expression(PK)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| translate("GetItem", e))
    }

    /// Sets one attribute of the item at `pk`/`sk` if it exists; a missing
    /// item stays missing (a condition of the write, not a read before it).
    async fn set_if_exists(
        &self,
        pk: &str,
        sk: &str,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, item::s(pk))
            .key(SK, item::s(sk))
            .update_expression("SET #a = :v")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", value)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if crate::sdk_error::is_conditional_check_failed(&e) => Ok(()),
            Err(e) => Err(translate("UpdateItem", e)),
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// page after page, strongly consistent.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<item::Item>> {
        self.query_all(pk, "begins_with(sk, :from)", prefix, None)
            .await
    }

    /// Every item of partition `pk` whose sort key is between `from` and
    /// `to` (both included), strongly consistent, all pages.
    async fn query_between(&self, pk: &str, from: &str, to: &str) -> Result<Vec<item::Item>> {
        self.query_all(pk, "sk BETWEEN :from AND :to", from, Some(to))
            .await
    }

    /// Every item of partition `pk` meeting `sort_condition` (on `:from`
    /// and `:to`), strongly consistent, all pages.
    async fn query_all(
        &self,
        pk: &str,
        sort_condition: &str,
        from: &str,
        to: Option<&str>,
    ) -> Result<Vec<item::Item>> {
        let mut out = Vec::new();
        let mut start: Option<item::Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("pk = :pk AND {sort_condition}"))
                .expression_attribute_values(":pk", item::s(pk))
                .expression_attribute_values(":from", item::s(from))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if let Some(to) = to {
                query = query.expression_attribute_values(":to", item::s(to));
            }
            let page = query.send().await.map_err(|e| translate("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Reads items by key in batches of 100, retrying keys DynamoDB leaves
    /// unprocessed under load.
    async fn batch_get(
        &self,
        keys: Vec<(String, String)>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(
                    chunk.iter().map(|(pk, sk)| item::key(pk, sk)).collect(),
                ))
                // Strongly consistent: a connection registered just before a
                // message is stored must get it live (the catch-up relies on it).
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            for attempt in 0..BATCH_ATTEMPTS {
                let response = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(|e| translate("BatchGetItem", e))?;
                if let Some(mut responses) = response.responses {
                    out.extend(responses.remove(&self.table).unwrap_or_default());
                }
                match response
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                {
                    Some(left) if !left.keys.is_empty() => {
                        pending = left;
                        tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    /// Writes an item unconditionally, replacing any item with its key.
    async fn put(&self, item: HashMap<String, AttributeValue>) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| translate("PutItem", e))?;
        Ok(())
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, item::s(pk))
            .key(SK, item::s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| translate("GetItem", e))?
            .item)
    }
}
