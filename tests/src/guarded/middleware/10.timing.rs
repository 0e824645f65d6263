//! How long the route took, named by its path: a `server-timing` header, as browsers' developer
//! tools show it. It runs once the path has matched, so `MatchedPath` is there.

use nitrous::axum::extract::{MatchedPath, Request};
use nitrous::axum::http::HeaderValue;
use nitrous::axum::middleware::Next;
use nitrous::axum::response::Response;

use crate::guarded::mark;

#[nitrous::middleware]
pub async fn timing(route: MatchedPath, mut request: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    mark(&mut request, "timing");
    let mut response = next.run(request).await;
    let took = format!(
        "route;desc=\"{}\";dur={:.3}",
        route.as_str(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    if let Ok(value) = HeaderValue::from_str(&took) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}
