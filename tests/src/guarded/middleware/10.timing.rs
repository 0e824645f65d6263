//! How long the route took: a `server-timing` header, as browsers' developer tools show it.

use nitrous::axum::extract::Request;
use nitrous::axum::http::HeaderValue;
use nitrous::axum::middleware::Next;
use nitrous::axum::response::Response;

use crate::guarded::mark;

#[nitrous::middleware]
pub async fn timing(mut request: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    mark(&mut request, "timing");
    let mut response = next.run(request).await;
    let took = format!("route;dur={:.3}", start.elapsed().as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&took) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}
