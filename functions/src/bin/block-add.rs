//! Lambda for `POST /api/users/blocks/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::BlockAdd;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
