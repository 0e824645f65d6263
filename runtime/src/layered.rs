//! Router layers: how the generated router keeps Nitro's precedence where axum's matcher cannot
//! hold two routes in one router (`users/{id}` beside `users/{*rest}`).

use axum::Router;
use axum::extract::{Request, State};
use tower::ServiceExt;

/// `first`, falling back to `next` for every request whose path `first` does not match.
///
/// `next` gets the state that `first` was given. Only requests that fall through pay for it.
pub fn layered<S>(first: Router<S>, next: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    first.fallback(move |State(state): State<S>, request: Request| {
        let next = next.clone();
        async move {
            match next.with_state::<()>(state).oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    })
}
