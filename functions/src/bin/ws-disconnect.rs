//! Lambda for the WebSocket API's `$disconnect` route.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_functions::websocket::run("$disconnect").await
}
