//! Lambda for `POST /api/chat/direct-chat/{user_id}/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::DirectChat;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
