//! Lambda for `GET /api/users/profile/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::ProfileGet).await
}
