//! Counts the requests an SDK client sends, per operation, so that tests and
//! benchmarks can show what an API call costs in DynamoDB requests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// An interceptor that counts transmitted requests (retries included) by
/// operation name. Clone it into a client's config and read it afterwards.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    actions: Arc<Mutex<BTreeSet<String>>>,
}

/// The IAM actions a request needs: its operation, or for a transaction the
/// operations of its items (IAM checks those, not the transaction).
fn iam_actions(operation: &str, body: Option<&[u8]>) -> Vec<String> {
    if operation != "TransactWriteItems" {
        return vec![operation.to_owned()];
    }
    let parsed: serde_json::Value = body
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    for item in parsed["TransactItems"].as_array().into_iter().flatten() {
        for (kind, action) in [
            ("Put", "PutItem"),
            ("Update", "UpdateItem"),
            ("Delete", "DeleteItem"),
            ("ConditionCheck", "ConditionCheckItem"),
        ] {
            if item.get(kind).is_some() {
                out.push(action.to_owned());
            }
        }
    }
    out
}

impl RequestCounter {
    /// Requests so far, by operation (`PutItem`, `Query`, ...).
    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// All requests so far.
    pub fn total(&self) -> usize {
        self.snapshot().values().sum()
    }

    /// The IAM actions (`GetItem`, `PutItem`, ...) the requests so far needed.
    pub fn actions(&self) -> BTreeSet<String> {
        self.actions.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.clear();
        }
        if let Ok(mut actions) = self.actions.lock() {
            actions.clear();
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_owned();
        let actions = iam_actions(&name, context.request().body().bytes());
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(name).or_default() += 1;
        }
        if let Ok(mut all) = self.actions.lock() {
            all.extend(actions);
        }
        Ok(())
    }
}
