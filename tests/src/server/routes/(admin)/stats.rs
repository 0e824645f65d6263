//! A `(group)` folder adds no path segment: this is `/api/stats`.

use nitrous::axum::http::HeaderMap;

#[nitrous::get]
pub async fn stats(headers: HeaderMap) -> String {
    let agent = headers.get("x-probe").and_then(|v| v.to_str().ok()).unwrap_or("none");
    format!("stats for {agent}")
}
