//! An echo route as a new user writes it: the reply is built from copies of the message's bytes
//! or text rather than by forwarding the `Message` (Autobahn runs against both).

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

#[derive(Default)]
pub struct EchoCopies;

impl WebSocketHandler for EchoCopies {
    fn options(&self) -> Options {
        Options::default()
            .max_message_size(64 << 20)
            .max_buffered(256 << 20)
            .allowed_origins(AllowedOrigins::Any)
    }

    async fn message(&self, peer: &Peer, message: Message) {
        if message.is_binary() {
            peer.send(message.bytes().to_vec());
        } else {
            peer.send(message.text().to_string());
        }
    }
}
