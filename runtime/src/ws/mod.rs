//! WebSocket routes, crossws-style: `impl WebSocketHandler for T` in a route file.
//!
//! ```
//! use nitrous::ws::{Message, Peer, WebSocketHandler};
//!
//! #[derive(Default)]
//! pub struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn message(&self, peer: &Peer, message: Message) {
//!         peer.send(message); // text stays text, binary stays binary
//!     }
//! }
//! ```

mod close;
mod endpoint;
mod fragments;
mod frame;
mod handler;
mod handoff;
mod headers;
mod heartbeat;
mod io;
mod message;
mod options;
mod outbox;
mod peer;
pub(crate) mod route;
mod session;
mod socket;
mod stream;
mod topics;
mod upgrade;
mod writer;

/// A message or control frame on the wire, in tungstenite's type.
pub(crate) type WireMessage = tungstenite::Message;

pub(crate) use handoff::DirectUpgrade;
pub(crate) use stream::Stream;
pub(crate) use upgrade::holds_token;

pub use close::{Close, CloseCode, InvalidCloseCode};
pub use handler::{
    Error, Refusal, TopicGap, TopicMessage, Upgrade, UpgradeRequest, WebSocketHandler,
};
pub use message::Message;
pub use options::{AllowedOrigins, Options};
pub use peer::{Peer, PeerId, SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON, SendError};
