//! The REST routes: each entry of the route table becomes an axum route whose
//! handler converts the request and calls [`chat_core::http::handle`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, RawQuery, Request};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use chat_core::http::{errors, handle, parse_method, ApiRequest, Route, ROUTES};
use chat_core::{Ctx, Error};

use crate::into_axum;

/// Largest body the gateway reads; each route applies its own, smaller limit.
pub fn max_body_bytes(ctx: &Ctx) -> usize {
    ctx.settings.max_picture_bytes + chat_core::http::MAX_MULTIPART_OVERHEAD
}

/// A router with every REST route.
pub fn router(ctx: Arc<Ctx>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter> = BTreeMap::new();
    for spec in ROUTES {
        for method in spec.methods {
            let Some(filter) = parse_method(method).and_then(|m| MethodFilter::try_from(m).ok())
            else {
                continue;
            };
            let ctx = ctx.clone();
            let route = spec.route;
            let handler = on(filter, move |path, query, request| {
                serve_route(ctx, route, path, query, request)
            });
            let entry = by_path.remove(spec.path);
            by_path.insert(
                spec.path,
                match entry {
                    Some(existing) => existing.merge(handler),
                    None => handler,
                },
            );
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(
                path,
                methods.fallback(|request: Request| async move {
                    into_axum(errors::method_not_allowed(request.method().as_str()))
                }),
            )
        })
}

async fn serve_route(
    ctx: Arc<Ctx>,
    route: Route,
    path: Result<Path<HashMap<String, String>>, PathRejection>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    // A path segment that does not decode (e.g. a percent escape that is not
    // UTF-8) cannot name anything: the JSON 404, like any unknown id.
    let Ok(Path(path_params)) = path else {
        return into_axum(errors::not_found());
    };
    let (parts, body) = request.into_parts();
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|peer| peer.0.ip());
    let limit = max_body_bytes(&ctx);
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return into_axum(errors::to_response(Error::PayloadTooLarge(format!(
                "Request body is larger than {limit} bytes."
            ))))
        }
    };
    let request = ApiRequest {
        method: parts.method,
        path_params,
        query: query
            .as_deref()
            .map(ApiRequest::parse_query)
            .unwrap_or_default(),
        headers: parts.headers,
        body,
        source_ip,
    };
    into_axum(handle(&ctx, route, request).await)
}

/// The JSON answer for paths that no route serves.
pub async fn not_found(_request: Request<Body>) -> Response {
    into_axum(errors::not_found())
}
