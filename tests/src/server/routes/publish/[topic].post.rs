//! A server-side publish of the request body to any topic (`POST /api/publish/{topic}`, or
//! `?namespace=ns` for namespace `ns`'s topic), for the scale-out and namespace tests to publish
//! on one instance and read on another; answers how many subscribers here it reached.

use nitrous::Hub;
use nitrous::axum::extract::{Path, Query};

#[derive(serde::Deserialize)]
pub struct In {
    namespace: Option<String>,
}

#[nitrous::handler]
pub async fn publish(
    hub: Hub,
    Path(topic): Path<String>,
    Query(scope): Query<In>,
    body: String,
) -> String {
    let published = match scope.namespace {
        Some(namespace) => hub.namespace(&namespace).publish(&topic, body),
        None => hub.publish(&topic, body),
    };
    match published {
        Ok(reached) => reached.to_string(),
        Err(e) => format!("cannot publish: {e}"),
    }
}
