//! Lambda for `DELETE /api/users/blocks/{user_id}/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::BlockRemove;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
