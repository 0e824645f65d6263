//! A GET handler beside a handler for every other method.

use nitrous::axum::http::Method;

#[nitrous::get]
pub async fn get() -> &'static str {
    "GET via #[nitrous::get]"
}

#[nitrous::handler]
pub async fn any(method: Method) -> String {
    format!("{method} via #[nitrous::handler]")
}
