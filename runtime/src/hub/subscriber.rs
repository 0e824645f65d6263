//! The subscriber side of a topic: who can subscribe, and what a topic asks of it.

use std::fmt;
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

    /// An id as a broker carries it back.
    pub(crate) fn from_raw(id: u64) -> SubscriberId {
        SubscriberId(id)
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

/// What a subscriber owes from a replay, or may take in one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Owed {
    /// Bytes, as [`entry_cost`](super::topic::entry_cost) counts them.
    pub(crate) bytes: usize,
    pub(crate) entries: usize,
}

/// Something that receives a topic's messages: a WebSocket peer or an event stream. Both read
/// them from their cursors when they write.
///
/// The topic calls `offer`, `replay_budget` and `start` under its lock, so they must not call
/// back into the hub; `wake` and `dropped` come after it is released.
pub(crate) trait Subscriber: Send + Sync {
    fn id(&self) -> SubscriberId;

    /// A new entry, before any cursor can see it (never one the subscriber published): count it
    /// as owed, or refuse it.
    fn offer(&self, entry: &Entry) -> Offer;

    /// Entries were offered and taken, and cursors can now see them.
    fn wake(&self);

    /// How much a resume may replay to it at once.
    fn replay_budget(&self) -> Owed;

    /// The subscription began: the subscriber reads from `cursor` (which may start in the
    /// history), and owes what it replays.
    fn start(&self, cursor: Cursor, owed: Owed);

    /// The topic dropped this subscriber after it refused an entry.
    fn dropped(&self) {}
}
