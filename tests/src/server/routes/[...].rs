//! The unnamed catch-all: whatever nothing else matches under the prefix. Its param is `_`.

use std::collections::HashMap;

use nitrous::axum::extract::Path;

#[nitrous::handler]
pub async fn fallback(Path(params): Path<HashMap<String, String>>) -> String {
    format!("catch-all {}", params.get("_").map_or("", String::as_str))
}
