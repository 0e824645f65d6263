//! The subscriber side of a topic: who can subscribe, and what a topic asks of it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::topic::{Cursor, Entry};

/// A subscriber's id, unique in this process: a WebSocket peer's or an event stream's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SubscriberId(u64);

impl SubscriberId {
    pub(crate) fn next() -> SubscriberId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SubscriberId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscriber-{}", self.0)
    }
}

/// What a subscriber says to an entry it is offered.
pub(crate) enum Offer {
    /// It will receive the entry.
    Taken,
    /// It takes no more entries from this topic (it is closing, or too far behind): the topic
    /// drops it, and calls [`Subscriber::dropped`] once its lock is released.
    Refused,
}

/// Something that receives a topic's messages: a WebSocket peer or an event stream.
///
/// The topic calls `offer` and `start` under its lock, so they must not call back into the hub;
/// `wake` and `dropped` come after it is released.
pub(crate) trait Subscriber: Send + Sync {
    fn id(&self) -> SubscriberId;

    /// A new entry, before any cursor can see it (never one the subscriber published). Count it
    /// as owed, or refuse it; an event stream encodes it here.
    fn offer(&self, entry: &Entry) -> Offer;

    /// Entries were offered and taken, and cursors can now see them.
    fn wake(&self);

    /// The subscription began; entries after `cursor`'s place are for this subscriber, until
    /// the subscription ends. An event stream, which takes entries in `offer`, drops it.
    fn start(&self, topic: &Arc<str>, cursor: Cursor);

    /// The topic dropped this subscriber after it refused an entry.
    fn dropped(&self) {}

    /// A resuming subscriber asked for entries older than the topic retains.
    fn gap(&self, missed_from: u64, resumed_at: u64) {
        let _ = (missed_from, resumed_at);
    }
}
