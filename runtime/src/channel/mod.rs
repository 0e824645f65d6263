//! Typed channels: a WebSocket route that speaks nitrous's channel protocol
//! (`docs/protocol.md`, subprotocol `nitrous.v1`), with typed messages, requests and replies,
//! topics a reconnecting client resumes by itself, and notices for frames it cannot accept.
//!
//! `impl Channel for T` in a route file makes its route a channel; `impl Requests for T` beside
//! it answers requests. The browser client (`client/`, npm `nitrous-client`) speaks the protocol.
//!
//! ```
//! use nitrous::channel::{Channel, ChannelPeer};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! pub struct Say {
//!     text: String,
//! }
//!
//! #[derive(Serialize)]
//! pub struct Said {
//!     user: String,
//!     text: String,
//! }
//!
//! #[derive(Default)]
//! pub struct Room;
//!
//! impl Channel for Room {
//!     type In = Say;
//!     type Out = Said;
//!
//!     async fn open(&self, peer: &ChannelPeer<'_, Self>) {
//!         // A reconnecting client resumes "lobby" after the last message it saw, by itself.
//!         peer.subscribe("lobby");
//!     }
//!
//!     async fn message(&self, peer: &ChannelPeer<'_, Self>, say: Say) {
//!         let said = Said { user: peer.id().to_string(), text: say.text };
//!         peer.publish("lobby", &said);
//!     }
//! }
//! ```

mod adapter;
mod frame;
mod handler;
mod peer;
mod requests;
mod session;
#[cfg(test)]
mod tests;

pub use adapter::ChannelHandler;
pub use handler::Channel;
pub use peer::ChannelPeer;
pub use requests::{Probe, RequestHook, Requests, WithRequests, WithoutRequests};

use crate::Hub;
use crate::payload::{Payload, PayloadError};

/// The kind of frames channel routes send for topic messages, whatever the channel: one per message.
struct Frames;

/// The WebSocket subprotocol a channel route speaks: the protocol's version 1.
pub const PROTOCOL: &str = "nitrous.v1";

/// Publishes a channel's outgoing message on `topic` from server code (an HTTP handler, a task):
/// every subscriber gets it as a `topic` frame. Returns how many subscribers it reached here.
pub fn publish<C: Channel>(
    hub: &Hub,
    topic: &str,
    message: &C::Out,
) -> Result<usize, PayloadError> {
    hub.publish(topic, Payload::json(message)?)
}
