//! Lambda for `POST /api/chat/rooms/{id}/members/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::MembersAdd).await
}
