//! Server-Sent Events: [`EventStream`], the counterpart of h3's `createEventStream`.
//!
//! ```
//! use nitrous::sse::{Event, EventStream};
//!
//! // src/server/routes/clock.rs  ->  GET /api/clock, text/event-stream
//! #[nitrous::sse]
//! pub async fn clock() -> EventStream {
//!     let stream = EventStream::new();
//!     let tx = stream.clone();
//!     tokio::spawn(async move {
//!         let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
//!         loop {
//!             tick.tick().await;
//!             if tx.push(Event::data("tick").event("clock")).await.is_err() {
//!                 break; // the client went away: on_closed has run
//!             }
//!         }
//!     });
//!     stream
//! }
//! ```
//!
//! The module by concept: `event` (an [`Event`] and its wire format), `stream` (the
//! [`EventStream`] handle, its queue, and its side of the hub's topics), `body` (the response that
//! carries it), `extract` (what `#[nitrous::sse]` functions take and return).

mod body;
mod event;
pub(crate) mod extract;
mod stream;

use std::time::Duration;

pub use event::Event;
pub use extract::{IntoEventStream, LAST_EVENT_ID_PARAM, LastEventId};
pub use stream::{EventStream, StreamClosed};

/// How often an idle stream sends a keep-alive comment, unless set with
/// [`EventStream::keep_alive`]: often enough for proxies that drop quiet connections after 30 s or
/// more, and to notice a vanished client.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many events may wait for a slow client before `push` waits (and a topic delivery, which
/// cannot wait, closes the stream), unless set with [`EventStream::max_buffered_events`].
pub const BUFFERED_EVENTS: usize = 256;

/// How many bytes of events may wait for a slow client, by the same rule, unless set with
/// [`EventStream::max_buffered_bytes`]. One event always fits a stream that has caught up,
/// whatever its size.
pub const BUFFERED_BYTES: usize = 16 << 20;

/// The event name a resumed stream gets when its `Last-Event-ID` is older than the topic's replay
/// buffer: events were missed, and the client should reload its state.
pub const REPLAY_GAP_EVENT: &str = "nitrous-replay-gap";

#[cfg(test)]
mod tests;
