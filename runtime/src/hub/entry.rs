//! One published message in a topic's log, and the hub-wide stamps that order messages across
//! topics.
//!
//! A publish appends one [`Entry`] to the topic's log, whatever the number of subscribers; each
//! subscriber reads on from its [`Cursor`](super::Cursor) when it gets to it. What a subscriber has
//! not read yet is kept once, however many subscribers are behind, and is freed as soon as the
//! last of them has read it (entries are chained by `Arc`: a cursor keeps its entry and everything
//! after it alive, and nothing before it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::subscriber::SubscriberId;
use crate::offset::Offset;
use crate::payload::Payload;

/// The next hub-wide stamp: every entry and every item queued for a peer gets one, in the order
/// they were made.
pub(crate) fn next_stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What an entry counts against a subscriber's budget: its bytes and what keeping it costs.
pub(crate) fn entry_cost(entry: &Entry) -> usize {
    entry.payload.len() + entry.event.as_ref().map_or(0, |e| e.len()) + ENTRY_OVERHEAD
}

/// An entry's own size, and the framing it goes out with.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>() + 32;

/// One published message in a topic's log.
pub(crate) struct Entry {
    /// Its place in this process's log: one more than the entry before it.
    pub(crate) seq: u64,
    /// Hub-wide order.
    pub(crate) stamp: u64,
    /// The publishing subscriber, which does not receive it.
    pub(crate) origin: Option<SubscriberId>,
    /// Where it is in a retained topic.
    pub(crate) offset: Option<Offset>,
    /// The event name an event stream gives it (`event:`); unnamed events are `message`.
    pub(crate) event: Option<Arc<str>>,
    pub(crate) payload: Payload,
    /// The frame a kind of handler sends every peer for it, made by the first peer's writer
    /// ([`TopicMessage::framed_once`](crate::ws::TopicMessage)).
    pub(crate) framed: Framed,
    next: OnceLock<Arc<Entry>>,
}

/// A frame made once per entry for one kind of handler, keyed by that kind.
pub(crate) type Framed = OnceLock<(std::any::TypeId, Payload)>;

impl Entry {
    /// The entry a new log starts after: it carries nothing and is never read.
    pub(crate) fn start() -> Entry {
        Entry::new(0, 0, None, None, None, Payload::binary(bytes::Bytes::new()))
    }

    pub(crate) fn new(
        seq: u64,
        stamp: u64,
        origin: Option<SubscriberId>,
        offset: Option<Offset>,
        event: Option<Arc<str>>,
        payload: Payload,
    ) -> Entry {
        Entry {
            seq,
            stamp,
            origin,
            offset,
            event,
            payload,
            framed: OnceLock::new(),
            next: OnceLock::new(),
        }
    }

    /// The entry published after this one, once it is.
    pub(crate) fn next(&self) -> Option<&Arc<Entry>> {
        self.next.get()
    }

    /// Links `next` after this entry; only the publish that holds its topic's lock does.
    pub(crate) fn link(&self, next: Arc<Entry>) {
        if self.next.set(next).is_err() {
            unreachable!("only a publish holding the topic's lock links after its tail");
        }
    }
}

/// A long chain is dropped one entry at a time, not by recursion.
impl Drop for Entry {
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(entry) = next {
            next = match Arc::into_inner(entry) {
                Some(mut entry) => entry.next.take(),
                None => None, // someone else still holds the rest
            };
        }
    }
}
