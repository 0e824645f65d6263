//! A WebSocket handler and an HTTP GET handler in one file: a plain GET gets the page, an upgrade
//! gets the socket.

use nitrous::ws::{Message, Peer, WebSocketHandler};

#[nitrous::get]
pub async fn page() -> &'static str {
    "a plain GET"
}

#[derive(Default)]
pub struct Page;

impl WebSocketHandler for Page {
    async fn message(&self, peer: &Peer, message: Message) {
        peer.send(format!("socket got {message}"));
    }
}
