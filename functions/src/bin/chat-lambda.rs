//! Every function's binary: `CHAT_ROUTE` names the route it serves.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_functions::route::run_from_env().await
}
