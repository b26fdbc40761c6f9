//! Lambda for the WebSocket API's `$default` route.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_functions::websocket::run("$default").await
}
