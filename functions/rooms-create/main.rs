//! Lambda for `POST /api/chat/rooms/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::RoomsCreate).await
}
