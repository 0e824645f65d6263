//! The subscriber side of a topic: who can subscribe, and what a topic asks of it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cursor::Cursor;
use super::entry::{Entry, entry_cost};
use super::subscription::SubscriptionKey;

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
    /// Bytes, as [`entry_cost`] counts them.
    pub(crate) bytes: usize,
    pub(crate) entries: usize,
}

impl Owed {
    /// What one entry owes.
    pub(crate) fn of(entry: &Entry) -> Owed {
        Owed {
            bytes: entry_cost(entry),
            entries: 1,
        }
    }

    pub(crate) fn add(&mut self, other: Owed) {
        self.bytes += other.bytes;
        self.entries += other.entries;
    }
}

/// Something that receives a topic's messages: a WebSocket peer or an event stream. Both read
/// them from their cursors (merged by [`Reading`](super::Reading)) when they write.
///
/// A topic calls `offer`, `withdraw`, `ready`, `replay_budget` and `start` under one of its
/// locks, so they must not call back into the hub; `dropped` comes after every lock is let go.
pub(crate) trait Subscriber: Send + Sync {
    fn id(&self) -> SubscriberId;

    /// A new entry (never one the subscriber published): count it as owed, or refuse it.
    fn offer(&self, entry: &Entry) -> Offer;

    /// An entry offered and taken that its cursor had read already (and counted then): it is
    /// owed no more.
    fn withdraw(&self, entry: &Entry);

    /// The cursor of subscription `key` has something to read. Said once until the reader
    /// parks that cursor again ([`Reading`](super::Reading) does).
    fn ready(&self, key: SubscriptionKey);

    /// How much a resume may replay to it at once.
    fn replay_budget(&self) -> Owed;

    /// The subscription began: the subscriber reads from `cursor` (which may start in the
    /// history), and owes what it replays.
    fn start(&self, cursor: Cursor, owed: Owed);

    /// The topic dropped this subscriber after it refused an entry.
    fn dropped(&self) {}
}
