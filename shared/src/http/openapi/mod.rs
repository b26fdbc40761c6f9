//! The OpenAPI description of the REST API, generated from the route table,
//! the request and response types and their validation limits.
//!
//! `docs/openapi.yaml` is this document as written by
//! `cargo run -p chat-core --example openapi`; a test fails when the two differ.

mod operations;
mod schemas;

use utoipa::openapi::path::{
    HttpMethod, Parameter, ParameterBuilder, ParameterIn, PathItemBuilder, PathsBuilder,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required, Schema, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

pub use schemas::{FieldErrors, NewPassword};

use super::ROUTES;
use crate::domain::{MessageId, RoomId, UserId};
use operations::Components;

const DESCRIPTION: &str = "\
The REST API of the chat backend, as served by the Lambda functions behind \
API Gateway and by the local gateway (`cargo run -p local-gateway`). \
The WebSocket API is described in the README. Bodies are JSON; \
`application/x-www-form-urlencoded` is accepted wherever JSON is, and the \
profile also takes `multipart/form-data`. Generated from the code \
(`cargo run -p chat-core --example openapi`) and checked against the running \
gateway by `.ci/api_fuzz.py` (schemathesis).";

/// The whole document.
pub fn document() -> OpenApi {
    let mut components = Components::default();
    let mut paths = PathsBuilder::new();
    for spec in ROUTES {
        let mut item = PathItemBuilder::new();
        for method in spec.methods {
            let operation = operations::operation(spec.route, method, &mut components);
            item = item.operation(http_method(method), operation);
        }
        let parameters = path_parameters(spec.path);
        item = item.parameters(Some(parameters).filter(|p| !p.is_empty()));
        paths = paths.path(spec.path, item.build());
    }
    let bearer = SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build(),
    );
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Chat API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://127.0.0.1:8000")
            .description(Some("the local gateway"))
            .build()]))
        .security(Some([SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]))
        .paths(paths.build())
        .components(Some(
            components
                .finish(ComponentsBuilder::new())
                .security_scheme("bearer", bearer)
                .build(),
        ))
        .build()
}

/// The document as YAML, as committed in `docs/openapi.yaml`.
pub fn yaml() -> String {
    // Serialising a document of plain maps and strings cannot fail.
    document()
        .to_yaml()
        .unwrap_or_else(|e| format!("# the document could not be written: {e}\n"))
}

fn http_method(method: &str) -> HttpMethod {
    match method {
        "GET" => HttpMethod::Get,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Post,
    }
}

/// The `{name}` segments of `path`, typed by the id each one holds.
fn path_parameters(path: &str) -> Vec<Parameter> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (schema, description): (RefOr<Schema>, _) = match name {
                "user_id" => (UserId::schema(), "A user's id"),
                "message_id" => (MessageId::schema(), "A message's id"),
                "attachment_id" => (MessageId::schema(), "An attachment's id"),
                _ => (RoomId::schema(), "A room's id"),
            };
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        })
        .collect()
}

/// A `$ref` to `T`'s component schema.
pub(crate) fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_document_is_the_generated_one() {
        let committed = include_str!("../../../../docs/openapi.yaml");
        assert!(
            committed == yaml(),
            "docs/openapi.yaml is stale: run `cargo run -p chat-core --example openapi`"
        );
    }

    #[test]
    fn every_route_and_method_has_an_operation() {
        let doc = document();
        for spec in ROUTES {
            let item = doc.paths.paths.get(spec.path).expect(spec.path);
            for method in spec.methods {
                let op = match *method {
                    "GET" => &item.get,
                    "PUT" => &item.put,
                    "PATCH" => &item.patch,
                    "DELETE" => &item.delete,
                    _ => &item.post,
                };
                assert!(op.is_some(), "{method} {}", spec.path);
            }
        }
    }
}
