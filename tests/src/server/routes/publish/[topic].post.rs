//! A server-side publish of the request body to any topic (`POST /api/publish/{topic}`), for the
//! scale-out tests to publish on one instance and read on another; answers how many subscribers
//! here it reached.

use nitrous::Hub;
use nitrous::axum::extract::Path;

#[nitrous::handler]
pub async fn publish(hub: Hub, Path(topic): Path<String>, body: String) -> String {
    match hub.publish(&topic, body) {
        Ok(reached) => reached.to_string(),
        Err(e) => format!("cannot publish: {e}"),
    }
}
