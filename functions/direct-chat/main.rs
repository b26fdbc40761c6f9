//! Lambda for `POST /api/chat/direct-chat/{user_id}/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::DirectChat).await
}
