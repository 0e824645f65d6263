//! Relays every message, kind unchanged, to the other subscribers of `relay` (on every instance,
//! when the hub has a broker).

use nitrous::ws::{Message, Peer, WebSocketHandler};

#[derive(Default)]
pub struct Relay;

impl WebSocketHandler for Relay {
    async fn open(&self, peer: &Peer) {
        peer.subscribe("relay");
        peer.send("ready");
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.publish("relay", message);
    }
}
