//! [`Subscription`]: what a topic's roster and the subscriber's cursor share for one subscription.
//!
//! Two sides move through a topic's log independently: the publish that offers each new entry
//! to the members (counting it against each one's budget and telling it there is something to
//! read), and the subscriber's cursor, which reads the entry once it is linked, perhaps before
//! the publish has got to that member. Each entry is counted exactly once: by whichever side
//! claims it first. Claims go one entry at a time, in log order (publishes offer in log order,
//! cursors read in log order), so one number says how far they have got.
//!
//! The other word they share is readiness: a publish tells a subscriber that a cursor has
//! something to read only when the cursor's reader has said it found nothing (it parked), so a
//! subscriber in many topics hears once per topic that wakes, and its reader looks at just those
//! cursors, not at every one on every frame.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Names one subscription among a subscriber's, for as long as the process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SubscriptionKey(u64);

impl SubscriptionKey {
    fn next() -> SubscriptionKey {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SubscriptionKey(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One subscriber's subscription to one topic.
pub(crate) struct Subscription {
    key: SubscriptionKey,
    /// The log's last entry when it began: entries after it are for it (those before, a resume
    /// replays, counted when it starts).
    pub(crate) joined: u64,
    /// Entries from this `seq` on are not for it: `u64::MAX` while it lasts. Only ever lowered.
    until: AtomicU64,
    /// The last entry counted for it, by a publish or by its cursor.
    claimed: AtomicU64,
    /// Its reader was told there is something to read, and has not yet found the cursor empty.
    ready: AtomicBool,
    /// A publish found it over its budget; it stays listed until it leaves.
    refused: AtomicBool,
}

impl Subscription {
    pub(crate) fn new(joined: u64) -> Subscription {
        Subscription {
            key: SubscriptionKey::next(),
            joined,
            until: AtomicU64::new(u64::MAX),
            claimed: AtomicU64::new(joined),
            // Its reader looks at the cursor when it gets it; until then nobody need say more.
            ready: AtomicBool::new(true),
            refused: AtomicBool::new(false),
        }
    }

    pub(crate) fn key(&self) -> SubscriptionKey {
        self.key
    }

    /// Where it ends (`u64::MAX` while it lasts).
    pub(crate) fn until(&self) -> u64 {
        self.until.load(Ordering::Acquire)
    }

    /// Whether entry `seq` is for it.
    pub(crate) fn covers(&self, seq: u64) -> bool {
        seq > self.joined && seq < self.until()
    }

    /// Entries from `seq` on are not for it.
    pub(crate) fn end_at(&self, seq: u64) {
        self.until.fetch_min(seq, Ordering::AcqRel);
    }

    /// Claims entry `seq` (the one after the last claimed): `true` when this caller is the first
    /// to, so the entry is counted by it; `false` when the other side got there first.
    pub(crate) fn claim(&self, seq: u64) -> bool {
        self.claimed
            .compare_exchange(seq - 1, seq, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Marks it ready: `true` when it was not, so the caller must tell its subscriber.
    pub(crate) fn notify(&self) -> bool {
        !self.ready.swap(true, Ordering::AcqRel)
    }

    /// Its reader found nothing to read: the next publish tells it. Returns the flag as the
    /// reader leaves it after looking again with `has_more` (an entry linked meanwhile is then
    /// the reader's to schedule, unless a publish claimed telling it first).
    pub(crate) fn park(&self, has_more: impl FnOnce() -> bool) -> bool {
        self.ready.swap(false, Ordering::AcqRel);
        has_more() && self.notify()
    }

    /// Refused by a publish: `true` the first time.
    pub(crate) fn refuse(&self, seq: u64) -> bool {
        self.end_at(seq);
        !self.refused.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn is_refused(&self) -> bool {
        self.refused.load(Ordering::Acquire)
    }
}
