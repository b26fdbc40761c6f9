//! Every function (a route `CHAT_ROUTE` names) has exactly one template
//! function, all built from the one binary; every route of
//! the route table is in the template, the README and the local gateway
//! (the OpenAPI description is generated from the table: `chat_core::http::openapi`); the
//! table matches the adapter's definition. Each check is a function that
//! lists problems, shown to fail on a template or code with a piece removed.

use std::collections::{BTreeMap, BTreeSet};

use chat_core::http::ROUTES;
use serde_yaml::Value;

pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn template() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).expect("template");
    serde_yaml::from_str(&text).expect("template is YAML")
}

/// The one binary every function is built from.
pub const BINARY: &str = "chat-lambda";

/// The functions the binary serves: the names `CHAT_ROUTE` takes.
pub fn function_names() -> BTreeSet<String> {
    chat_functions::route::names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The function a template function serves: its `CHAT_ROUTE`, if it builds
/// [`BINARY`] (otherwise what it builds, which names no function).
pub fn function_of(resource: &Value) -> String {
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_default();
    if binary != BINARY {
        return format!("binary {binary}");
    }
    resource["Properties"]["Environment"]["Variables"]["CHAT_ROUTE"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Template functions: logical id → the function it serves.
pub fn template_functions(t: &Value) -> BTreeMap<String, String> {
    t["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_owned(), function_of(r)))
        .collect()
}

/// `(METHOD, path) → binary` of the template's HTTP API events.
pub fn template_routes(t: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for (_, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = function_of(r);
        for (_, event) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "HttpApi" {
                let method = event["Properties"]["Method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_uppercase();
                let path = event["Properties"]["Path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                out.insert((method, path), binary.clone());
            }
        }
    }
    out
}

/// `(METHOD, path) → binary` of the code's route table.
pub fn code_routes() -> BTreeMap<(String, String), String> {
    ROUTES
        .iter()
        .flat_map(|s| {
            s.methods
                .iter()
                .map(move |m| ((m.to_string(), s.path.to_owned()), s.function.to_owned()))
        })
        .collect()
}

/// `(METHOD, path)` of the README's API table (`{id}` as written there).
pub fn readme_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README");
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[2].starts_with("`/api/") {
            continue;
        }
        let path = cells[2].trim_matches('`').to_owned();
        for method in cells[1].split(',') {
            out.insert((method.trim().to_owned(), path.clone()));
        }
    }
    out
}

pub fn function_problems(
    bins: &BTreeSet<String>,
    functions: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for bin in bins {
        let n = functions.values().filter(|b| *b == bin).count();
        if n != 1 {
            problems.push(format!("function {bin} has {n} template functions"));
        }
    }
    for (id, bin) in functions {
        if !bins.contains(bin) {
            problems.push(format!(
                "template function {id} serves {bin:?}, which is no function"
            ));
        }
    }
    problems
}

pub fn route_problems(
    code: &BTreeMap<(String, String), String>,
    template: &BTreeMap<(String, String), String>,
    readme: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (route, function) in code {
        match template.get(route) {
            None => problems.push(format!("{} {} is not in the template", route.0, route.1)),
            Some(f) if f != function => problems.push(format!(
                "{} {} is served by {f}, not {function}",
                route.0, route.1
            )),
            Some(_) => {}
        }
        if !readme.contains(route) {
            problems.push(format!(
                "{} {} is not in the README's API table",
                route.0, route.1
            ));
        }
    }
    for route in template.keys() {
        if !code.contains_key(route) {
            problems.push(format!(
                "template route {} {} has no handler",
                route.0, route.1
            ));
        }
    }
    for route in readme {
        if !code.contains_key(route) {
            problems.push(format!(
                "README route {} {} has no handler",
                route.0, route.1
            ));
        }
    }
    problems
}

#[test]
fn every_function_has_exactly_one_template_function_all_one_binary() {
    let problems = function_problems(&function_names(), &template_functions(&template()));
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        function_names().len(),
        ROUTES.len() + 4,
        "one function per REST route, three WebSocket routes and the $connect authorizer"
    );
    let binary = root()
        .join("functions/src/bin")
        .join(format!("{BINARY}.rs"));
    assert!(binary.exists(), "{binary:?}");
}

#[test]
fn a_missing_function_or_another_binary_is_caught() {
    let bins = function_names();
    let mut functions = template_functions(&template());
    functions.remove("MessagesSendFunction");
    let problems = function_problems(&bins, &functions);
    assert_eq!(
        problems,
        vec!["function messages-send has 0 template functions".to_owned()]
    );
    let mut fewer_bins = bins.clone();
    fewer_bins.remove("ws-default");
    let problems = function_problems(&fewer_bins, &template_functions(&template()));
    assert_eq!(
        problems,
        vec![
            "template function WsDefaultFunction serves \"ws-default\", which is no function"
                .to_owned()
        ]
    );
    let mut t = template();
    t["Resources"]["RoomGetFunction"]["Metadata"]["BuildProperties"]["Binary"] =
        Value::String("room-get".to_owned());
    assert_eq!(
        function_problems(&bins, &template_functions(&t)),
        vec![
            "function room-get has 0 template functions".to_owned(),
            "template function RoomGetFunction serves \"binary room-get\", which is no function"
                .to_owned(),
        ]
    );
}

#[test]
fn routes_agree_between_code_template_and_readme() {
    let problems = route_problems(
        &code_routes(),
        &template_routes(&template()),
        &readme_routes(),
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(readme_routes().len(), code_routes().len());
}

#[test]
fn removing_a_route_from_either_side_is_caught() {
    let code = code_routes();
    let readme = readme_routes();
    let mut template = template_routes(&template());
    let key = (
        "DELETE".to_owned(),
        "/api/chat/rooms/{id}/members/{user_id}/".to_owned(),
    );
    template.remove(&key);
    assert_eq!(
        route_problems(&code, &template, &readme),
        vec!["DELETE /api/chat/rooms/{id}/members/{user_id}/ is not in the template".to_owned()]
    );
    let mut fewer = code.clone();
    fewer.remove(&("GET".to_owned(), "/api/chat/rooms/".to_owned()));
    let problems = route_problems(
        &fewer,
        &template_routes(&crate::consistency::template()),
        &readme,
    );
    assert_eq!(
        problems,
        vec![
            "template route GET /api/chat/rooms/ has no handler".to_owned(),
            "README route GET /api/chat/rooms/ has no handler".to_owned(),
        ]
    );
}

#[test]
fn the_table_is_the_adapters_table() {
    let t = template();
    let table = &t["Resources"]["ChatTable"]["Properties"];
    let def = chat_aws::table::definition();
    let keys: Vec<(String, String)> = table["KeySchema"]
        .as_sequence()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or_default().to_owned(),
                k["KeyType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                def["keys"]["partition"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                "HASH".to_owned()
            ),
            (
                def["keys"]["sort"].as_str().unwrap_or_default().to_owned(),
                "RANGE".to_owned()
            ),
        ]
    );
    let attributes: BTreeSet<String> = table["AttributeDefinitions"]
        .as_sequence()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["AttributeName"].as_str().map(str::to_owned))
        .collect();
    let expected: BTreeSet<String> = def["attributes"]
        .as_array()
        .expect("attrs")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    assert_eq!(attributes, expected);
    let gsis = table["GlobalSecondaryIndexes"].as_sequence().expect("gsis");
    let index = &def["indexes"][0];
    assert_eq!(
        gsis.len(),
        def["indexes"].as_array().map(Vec::len).unwrap_or_default()
    );
    assert_eq!(gsis[0]["IndexName"].as_str(), index["name"].as_str());
    assert_eq!(
        gsis[0]["KeySchema"][0]["AttributeName"].as_str(),
        index["partition"].as_str()
    );
    assert_eq!(
        gsis[0]["KeySchema"][1]["AttributeName"].as_str(),
        index["sort"].as_str()
    );
    assert_eq!(
        gsis[0]["Projection"]["ProjectionType"].as_str(),
        index["projection"].as_str()
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        def["ttl"].as_str()
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        table["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
}

#[tokio::test]
async fn the_local_gateway_serves_every_route() {
    use std::sync::Arc;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let config = chat_core::config::Config {
        jwt_secret: chat_core::config::Secret::new(vec![7; 32]).expect("secret"),
        settings: Default::default(),
    };
    let ctx = Arc::new(chat_core::adapters::embedded_context(&config, &base));
    let sockets = Arc::new(chat_core::adapters::ChannelNotifier::default());
    let cors = local_gateway::config::GatewayConfig::from_lookup(|_| None)
        .expect("config")
        .cors();
    let app = local_gateway::app(
        ctx,
        local_gateway::Sockets::local(sockets),
        None,
        cors,
        local_gateway::websocket::SocketLimits::default(),
    );
    tokio::spawn(local_gateway::serve(listener, app, std::future::pending()));
    let client = reqwest::Client::new();
    for (method, path) in code_routes().keys() {
        let concrete = path.replace("{id}", "R1").replace("{user_id}", "U1");
        let response = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{base}{concrete}"),
            )
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert!(
            status != 405 && body["detail"] != "Not found.",
            "{method} {path}: the gateway does not serve it ({status} {body})"
        );
    }
}

/// What makes `sam build` build one artifact for all functions: it builds
/// once per distinct (runtime, code URI, build metadata, handler,
/// architecture) and copies the result to each function.
pub fn build_definitions(t: &Value) -> BTreeSet<String> {
    let globals = &t["Globals"]["Function"];
    t["Resources"]
        .as_mapping()
        .expect("resources")
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| {
            let property = |name: &str| {
                let own = &r["Properties"][name];
                serde_yaml::to_string(if own.is_null() { &globals[name] } else { own })
                    .unwrap_or_default()
            };
            [
                serde_yaml::to_string(&r["Metadata"]).unwrap_or_default(),
                property("CodeUri"),
                property("Runtime"),
                property("Handler"),
                property("Architectures"),
            ]
            .join("|")
        })
        .collect()
}

#[test]
fn sam_builds_the_binary_once_for_every_function() {
    let t = template();
    assert_eq!(
        build_definitions(&t).len(),
        1,
        "{:#?}",
        build_definitions(&t)
    );
    let mut different = t.clone();
    different["Resources"]["TokenFunction"]["Metadata"]["BuildProperties"]["Binary"] =
        Value::String("token".to_owned());
    assert_eq!(build_definitions(&different).len(), 2);
}

/// `$connect` runs the authorizer function first (whose context API Gateway
/// hands to every event of the connection), which API Gateway may invoke,
/// and which may read only the signing secret.
#[test]
fn connect_is_authorized_by_the_authorizer_function() {
    let t = template();
    let resources = &t["Resources"];
    let route = &resources["ConnectRoute"]["Properties"];
    assert_eq!(route["AuthorizationType"], "CUSTOM");
    assert!(
        format!("{:?}", route["AuthorizerId"]).contains("ConnectAuthorizer"),
        "{route:?}"
    );
    let authorizer = &resources["ConnectAuthorizer"]["Properties"];
    assert_eq!(authorizer["AuthorizerType"], "REQUEST");
    assert!(
        format!("{:?}", authorizer["AuthorizerUri"])
            .contains("${WsAuthorizeFunction.Arn}/invocations"),
        "{authorizer:?}"
    );
    let permission = &resources["ConnectAuthorizerPermission"]["Properties"];
    assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
    assert!(
        format!("{:?}", permission["SourceArn"]).contains("/authorizers/${ConnectAuthorizer}"),
        "{permission:?}"
    );
    let function = &resources["WsAuthorizeFunction"];
    assert_eq!(function_of(function), "ws-authorize");
    let policy = format!("{:?}", function["Properties"]["Policies"]);
    assert!(
        policy.contains("ssm:GetParameter") && !policy.contains("dynamodb:"),
        "{policy}"
    );
}
