//! An app with a middleware folder: `middleware/1.auth.rs` refuses a request without a known
//! bearer token and attaches its [`User`], `2.request_id.rs` numbers requests from the state, and
//! `10.timing.rs` adds a `server-timing` header naming the matched path. Each also writes its name
//! on the request's [`Trail`], so a route can tell the order they ran in (by number: 1, 2, 10; by
//! text it would be 1, 10, 2).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

nitrous::routes!(dir = "src/guarded/routes", state = GuardedState);

/// The router's state, which the middleware read.
#[derive(Clone, Debug, Default)]
pub struct GuardedState {
    /// Bearer token -> user name.
    pub tokens: Arc<HashMap<String, String>>,
    /// The last request id given out.
    pub requests: Arc<AtomicU64>,
}

impl GuardedState {
    /// A state that knows the token `secret-ada` as `ada`.
    pub fn with_ada() -> GuardedState {
        GuardedState {
            tokens: Arc::new(HashMap::from([("secret-ada".to_owned(), "ada".to_owned())])),
            requests: Arc::default(),
        }
    }
}

/// Who sent the request, attached by the auth middleware.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
}

/// The middleware that ran on the way in, in order.
#[derive(Clone, Debug, Default)]
pub struct Trail(pub Vec<&'static str>);

/// Adds `name` to the request's trail.
pub fn mark(request: &mut nitrous::axum::extract::Request, name: &'static str) {
    let extensions = request.extensions_mut();
    let mut trail = extensions.get::<Trail>().cloned().unwrap_or_default();
    trail.0.push(name);
    extensions.insert(trail);
}
