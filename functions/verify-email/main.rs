//! Lambda for `POST /api/users/verify-email/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::VerifyEmail).await
}
