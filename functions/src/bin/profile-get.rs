//! Lambda for `GET /api/users/profile/`.

use chat_core::http::Route;
use chat_functions::http::{needs, run};

const ROUTE: Route = Route::ProfileGet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run::<{ needs(ROUTE) }>(ROUTE).await
}
