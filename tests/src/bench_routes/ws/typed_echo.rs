//! Bench: `ws/echo.rs` as a typed channel (`docs/protocol.md`): every `message` frame's data,
//! decoded into [`Text`], goes back to its sender as a `message` frame.

use nitrous::channel::{Channel, ChannelPeer};
use nitrous::ws::{AllowedOrigins, Options};
use serde::{Deserialize, Serialize};

/// What the bench's typed routes carry: a small struct, as a chat message would be.
#[derive(Serialize, Deserialize)]
pub struct Text {
    /// What was said.
    pub text: String,
}

/// The typed echo channel.
#[derive(Default)]
pub struct TypedEcho;

impl Channel for TypedEcho {
    type In = Text;
    type Out = Text;

    fn options(&self) -> Options {
        Options::default()
            .allowed_origins(AllowedOrigins::Any)
            .no_heartbeat()
    }

    async fn message(&self, peer: &ChannelPeer<'_, Self>, message: Text) {
        peer.send(&message);
    }
}
