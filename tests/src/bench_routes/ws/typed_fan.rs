//! Bench: `ws/fan.rs` as a typed channel (`docs/protocol.md`): every peer is subscribed to `fan`
//! in `open` (then sent `ready`, so a client knows its join is done), and what a peer sends is
//! published on `fan` to every subscriber but the sender, as `topic` frames.

use nitrous::channel::{Channel, ChannelPeer};
use nitrous::ws::{AllowedOrigins, Options};

/// What the publisher sends and the subscribers get: the echo's message.
pub use super::typed_echo::Text;

/// The typed fan-out channel.
#[derive(Default)]
pub struct TypedFan;

impl Channel for TypedFan {
    type In = Text;
    type Out = Text;

    fn options(&self) -> Options {
        Options::default()
            .allowed_origins(AllowedOrigins::Any)
            .no_heartbeat()
            .max_buffered(64 << 20)
    }

    async fn open(&self, peer: &ChannelPeer<'_, Self>) {
        peer.subscribe("fan");
        peer.send(&Text {
            text: "ready".to_owned(),
        });
    }

    async fn message(&self, peer: &ChannelPeer<'_, Self>, message: Text) {
        peer.publish("fan", &message);
    }
}
