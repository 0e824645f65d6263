//! Bench: every message back to its sender.

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

/// The echo handler.
#[derive(Default)]
pub struct Echo;

impl WebSocketHandler for Echo {
    fn options(&self) -> Options {
        Options::default().allowed_origins(AllowedOrigins::Any).no_heartbeat()
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.send(message);
    }
}
