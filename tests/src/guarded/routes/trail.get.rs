//! `GET /api/trail`: the middleware that ran before this route, in order.

use nitrous::axum::Extension;

use crate::guarded::Trail;

#[nitrous::get]
pub async fn get(Extension(trail): Extension<Trail>) -> String {
    trail.0.join(" > ")
}
