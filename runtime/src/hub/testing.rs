//! A subscriber for the hub's unit tests: it reads through its cursors as a WebSocket session
//! does (merged by [`Reading`]), records what it was offered, told and dropped for, keeps its
//! own account of what it owes, and can be told to refuse.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::cursor::{Cursor, Gap};
use super::entry::{Entry, entry_cost};
use super::reading::{Reading, Said};
use super::subscriber::{Offer, Owed, Subscriber, SubscriberId};
use super::subscription::SubscriptionKey;

/// What a [`Reader`]'s cursors said, kept past the read.
pub(crate) enum Heard {
    Gap(Gap),
    Entry(Arc<Entry>),
}

/// What a [`Reader`] read: a message's text and offset, or a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Message(String, Option<crate::offset::Offset>),
    Gap(Gap),
}

pub(crate) struct Reader {
    pub(crate) id: SubscriberId,
    pub(crate) reading: Mutex<Reading>,
    /// Keys it was told are ready, not yet handed to `reading`.
    ready: Mutex<Vec<SubscriptionKey>>,
    /// Every subscription it started.
    keys: Mutex<Vec<SubscriptionKey>>,
    pub(crate) offered: Mutex<Vec<u64>>,
    /// What it owes now: offered and replayed, less what was withdrawn and read.
    pub(crate) owed: Mutex<Owed>,
    /// What its replays owed when they started.
    pub(crate) replayed: Mutex<Owed>,
    pub(crate) wakes: AtomicUsize,
    pub(crate) dropped: AtomicUsize,
    pub(crate) refuse_from: AtomicU64,
    pub(crate) budget: Mutex<Owed>,
}

impl Reader {
    pub(crate) fn new() -> Arc<Reader> {
        Arc::new(Reader {
            id: SubscriberId::next(),
            reading: Mutex::default(),
            ready: Mutex::default(),
            keys: Mutex::default(),
            offered: Mutex::default(),
            owed: Mutex::default(),
            replayed: Mutex::default(),
            wakes: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            refuse_from: AtomicU64::new(u64::MAX),
            budget: Mutex::new(Owed {
                bytes: usize::MAX,
                entries: usize::MAX,
            }),
        })
    }

    /// Everything its cursors hold now, in stamp order.
    pub(crate) fn read_all(&self) -> Vec<Read> {
        self.take_all()
            .into_iter()
            .map(|said| match said {
                Heard::Gap(gap) => Read::Gap(gap),
                Heard::Entry(entry) => Read::Message(
                    entry.payload.as_text().unwrap_or_default().to_owned(),
                    entry.offset,
                ),
            })
            .collect()
    }

    /// Everything its cursors hold now, as they say it, in stamp order.
    pub(crate) fn take_all(&self) -> Vec<Heard> {
        let mut reading = self.reading.lock().unwrap();
        for key in std::mem::take(&mut *self.ready.lock().unwrap()) {
            reading.ready(key);
        }
        let mut read = Vec::new();
        while let Some((_, said)) = reading.take_before(None) {
            read.push(match said {
                Said::Gap(gap) => Heard::Gap(gap),
                Said::Entry(entry) => Heard::Entry(entry.clone()),
            });
        }
        let released = reading.take_released();
        let mut owed = self.owed.lock().unwrap();
        owed.bytes -= released.bytes;
        owed.entries -= released.entries;
        read
    }

    /// Looks at every cursor again, as if each had been said to be ready.
    pub(crate) fn look_again(&self) {
        let keys = self.keys.lock().unwrap().clone();
        self.ready.lock().unwrap().extend(keys);
    }

    /// The texts of the messages it holds now (gaps left out).
    pub(crate) fn read(&self) -> Vec<String> {
        self.read_all()
            .into_iter()
            .filter_map(|read| match read {
                Read::Message(text, _) => Some(text),
                Read::Gap(_) => None,
            })
            .collect()
    }
}

impl Subscriber for Reader {
    fn id(&self) -> SubscriberId {
        self.id
    }
    fn offer(&self, entry: &Entry) -> Offer {
        if entry.seq >= self.refuse_from.load(Ordering::SeqCst) {
            return Offer::Refused;
        }
        self.offered.lock().unwrap().push(entry.seq);
        self.owed.lock().unwrap().add(Owed::of(entry));
        Offer::Taken
    }
    fn withdraw(&self, entry: &Entry) {
        let mut owed = self.owed.lock().unwrap();
        owed.bytes -= entry_cost(entry);
        owed.entries -= 1;
    }
    fn ready(&self, key: SubscriptionKey) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.ready.lock().unwrap().push(key);
    }
    fn replay_budget(&self) -> Owed {
        *self.budget.lock().unwrap()
    }
    fn start(&self, cursor: Cursor, owed: Owed) {
        self.owed.lock().unwrap().add(owed);
        self.replayed.lock().unwrap().add(owed);
        self.keys.lock().unwrap().push(cursor.key());
        self.reading.lock().unwrap().add(cursor);
    }
    fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}
