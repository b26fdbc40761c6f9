//! Lambda for `GET /api/chat/rooms/{id}/messages/{message_id}/attachments/{attachment_id}/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::AttachmentGet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
