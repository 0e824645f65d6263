//! An echo route for protocol conformance (the Autobahn TestSuite): every message comes back with
//! its kind. Limits are raised to what the suite sends (up to 16 MiB messages).

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

#[derive(Default)]
pub struct Echo;

impl WebSocketHandler for Echo {
    fn options(&self) -> Options {
        Options::default()
            .max_message_size(64 << 20)
            .max_buffered(256 << 20)
            .allowed_origins(AllowedOrigins::Any)
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.send(message);
    }
}
