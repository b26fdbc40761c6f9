//! Counts the requests an SDK client sends, per operation, and the DynamoDB
//! capacity units they consume, so that tests and benchmarks can show what
//! an API call costs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// An interceptor that counts transmitted requests (retries included) by
/// operation name, and asks DynamoDB for the capacity each one consumes.
/// Clone it into a client's config and read it afterwards.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    actions: Arc<Mutex<BTreeSet<String>>>,
    units: Arc<Mutex<Units>>,
}

/// DynamoDB capacity consumed, as billed on demand.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    /// Read units: 1 per 4 KB read strongly consistent.
    pub read: f64,
    /// Write units: 1 per 1 KB written, 2 in a transaction.
    pub write: f64,
}

/// Asks for the consumed capacity on a DynamoDB request, if it is one.
fn ask_for_capacity(input: &mut aws_smithy_runtime_api::client::interceptors::context::Input) {
    let total = Some(ReturnConsumedCapacity::Total);
    macro_rules! ask {
        ($($input:ty),*) => {
            $(if let Some(i) = input.downcast_mut::<$input>() {
                i.return_consumed_capacity = total;
                return;
            })*
        };
    }
    ask!(
        GetItemInput,
        PutItemInput,
        UpdateItemInput,
        DeleteItemInput,
        QueryInput,
        BatchGetItemInput,
        BatchWriteItemInput,
        TransactWriteItemsInput
    );
}

/// The capacity a DynamoDB answer says its request consumed. DynamoDB bills
/// a transaction's writes twice (prepare and commit); emulators report them
/// once, so they are doubled here.
fn consumed(output: &aws_smithy_runtime_api::client::interceptors::context::Output) -> Units {
    let sum = |list: &[ConsumedCapacity]| list.iter().filter_map(|c| c.capacity_units).sum::<f64>();
    let one = |c: Option<&ConsumedCapacity>| c.and_then(|c| c.capacity_units).unwrap_or(0.0);
    let read = |read| Units { read, write: 0.0 };
    let write = |write| Units { read: 0.0, write };
    if let Some(o) = output.downcast_ref::<GetItemOutput>() {
        read(one(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
        read(one(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
        read(sum(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
        write(one(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
        write(one(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<DeleteItemOutput>() {
        write(one(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
        write(sum(o.consumed_capacity()))
    } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
        write(2.0 * sum(o.consumed_capacity()))
    } else {
        Units::default()
    }
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

    /// The capacity the requests so far consumed, as DynamoDB reported it
    /// (requests that failed report none).
    pub fn units(&self) -> Units {
        self.units.lock().map(|u| *u).unwrap_or_default()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        if let Ok(mut units) = self.units.lock() {
            *units = Units::default();
        }
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

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ask_for_capacity(context.input_mut());
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(output) = context.output_or_error() {
            let add = consumed(output);
            if let Ok(mut units) = self.units.lock() {
                units.read += add.read;
                units.write += add.write;
            }
        }
        Ok(())
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
