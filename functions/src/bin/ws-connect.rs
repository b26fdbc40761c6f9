//! Lambda for the WebSocket API's `$connect` route.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_functions::websocket::run("$connect").await
}
