//! `GET /ws/echo`: a WebSocket that answers every message with the same message.

use nitrous::ws::{Message, Peer, WebSocketHandler};

#[derive(Debug, Default)]
pub struct Echo;

impl WebSocketHandler for Echo {
    async fn open(&self, peer: &Peer) {
        peer.send("welcome");
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.send(message);
    }
}
