//! Lambda for `GET /api/chat/rooms/{id}/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::RoomGet).await
}
