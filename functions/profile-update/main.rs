//! Lambda for `PUT|PATCH /api/users/profile/`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_functions::http::run(chat_core::http::Route::ProfileUpdate).await
}
