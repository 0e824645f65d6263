//! Runs before every route, as every file in `src/server/middleware` does (in the order of their
//! numbers: `01.` first): how long the route took, as a `server-timing` header that browsers'
//! developer tools show.

use nitrous::axum::extract::Request;
use nitrous::axum::http::HeaderValue;
use nitrous::axum::middleware::Next;
use nitrous::axum::response::Response;

#[nitrous::middleware]
pub async fn timing(request: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let mut response = next.run(request).await;
    let took = format!("app;dur={:.3}", start.elapsed().as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&took) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}
