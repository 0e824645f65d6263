//! Bench: every subscriber of `fan` gets what any peer sends (the sender excepted).

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

/// The fan-out handler.
#[derive(Default)]
pub struct Fan;

impl WebSocketHandler for Fan {
    fn options(&self) -> Options {
        Options::default().allowed_origins(AllowedOrigins::Any).no_heartbeat().max_buffered(64 << 20)
    }

    async fn open(&self, peer: &Peer) {
        peer.subscribe("fan");
        peer.send("ready");
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.publish("fan", message);
    }
}
