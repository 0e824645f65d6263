//! A server-side publish from an HTTP handler: `POST /api/announce` reaches every subscriber of
//! `chat` once.

use nitrous::Hub;

#[nitrous::handler]
pub async fn announce(hub: Hub, body: String) -> String {
    let reached = hub.publish("chat", serde_json::json!({ "user": "server", "message": body })).unwrap_or(0);
    format!("reached {reached}")
}
