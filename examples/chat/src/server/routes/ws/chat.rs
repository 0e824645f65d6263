//! The seed's chat handler (Analog's `src/server/routes/ws/chat.ts`), in Rust and as the seed
//! wrote it: `ws://host/ws/chat`. A message is echoed to its sender and published to the others.
//! The page uses the typed room (`ws/room.rs`), which shares the `chat` topic: raw clients and
//! pages talk in one room.

use nitrous::ws::{Message, Peer, WebSocketHandler};
use serde_json::json;

/// The chat room: everyone subscribed to `chat` hears what everyone says.
#[derive(Default)]
pub struct Chat;

impl WebSocketHandler for Chat {
    async fn open(&self, peer: &Peer) {
        peer.send(json!({ "user": "server", "message": format!("Welcome {peer}!") }));
        peer.publish("chat", json!({ "user": "server", "message": format!("{peer} joined!") }));
        peer.subscribe("chat");
    }

    async fn message(&self, peer: &Peer, message: Message) {
        if message.text().contains("ping") {
            peer.send(json!({ "user": "server", "message": "pong" }));
        } else {
            let msg = json!({ "user": peer.to_string(), "message": message.to_string() });
            peer.send(&msg); // echo
            peer.publish("chat", &msg);
        }
    }

    async fn close(&self, peer: &Peer, _close: nitrous::ws::Close) {
        peer.publish("chat", json!({ "user": "server", "message": format!("{peer} left!") }));
    }
}
