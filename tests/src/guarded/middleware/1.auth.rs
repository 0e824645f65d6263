//! Refuses a request without a known `Authorization: Bearer TOKEN` (401), and hands its user on
//! to the route, as Nitro's `event.context.user = ...`.

use nitrous::axum::extract::{Request, State};
use nitrous::axum::http::{StatusCode, header};
use nitrous::axum::middleware::Next;
use nitrous::axum::response::{IntoResponse, Response};

use crate::guarded::{GuardedState, User, mark};

#[nitrous::middleware]
pub async fn auth(
    State(state): State<GuardedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return (StatusCode::UNAUTHORIZED, "no token").into_response();
    };
    let Some(name) = state.tokens.get(token) else {
        return (StatusCode::UNAUTHORIZED, "unknown token").into_response();
    };
    request.extensions_mut().insert(User { name: name.clone() });
    mark(&mut request, "auth");
    next.run(request).await
}
