//! Numbers every request from the state's counter: `x-request-id` on the response.

use std::sync::atomic::Ordering;

use nitrous::axum::extract::{Request, State};
use nitrous::axum::http::HeaderValue;
use nitrous::axum::middleware::Next;
use nitrous::axum::response::Response;

use crate::guarded::{GuardedState, mark};

#[nitrous::middleware]
pub async fn request_id(
    State(state): State<GuardedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    mark(&mut request, "request_id");
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from(id));
    response
}
