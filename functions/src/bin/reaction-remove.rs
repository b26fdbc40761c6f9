//! Lambda for `DELETE /api/chat/rooms/{id}/messages/{message_id}/reactions/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::ReactionRemove;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
