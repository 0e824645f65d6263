//! A channel without requests: a user's echo, written as the simplest channel is (the `Out`
//! built from the `In`).

use nitrous::channel::{Channel, ChannelPeer};

#[derive(Default)]
pub struct TypedPlain;

impl Channel for TypedPlain {
    type In = String;
    type Out = String;

    async fn message(&self, peer: &ChannelPeer<'_, Self>, text: String) {
        peer.send(&text);
    }
}
