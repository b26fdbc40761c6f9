//! Lambda for `GET /api/chat/rooms/{id}/messages/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::MessagesList).await
}
