//! A catch-all beside a param at the same level: Nitro allows it, axum's matcher cannot hold both
//! in one router, so the generated router puts this one on a fallback layer.

use nitrous::axum::extract::Path;

#[nitrous::get]
pub async fn rest(Path(rest): Path<String>) -> String {
    format!("users catch-all {rest}")
}
