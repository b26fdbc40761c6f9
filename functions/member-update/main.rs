//! Lambda for `PATCH /api/chat/rooms/{id}/members/{user_id}/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::MemberUpdate).await
}
