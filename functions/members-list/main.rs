//! Lambda for `GET /api/chat/rooms/{id}/members/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::MembersList).await
}
