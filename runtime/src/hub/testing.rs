//! A subscriber for the hub's unit tests: it reads through its cursors as a WebSocket session
//! does, records what it was offered, woken and dropped for, and can be told to refuse.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::subscriber::{Offer, Owed, Subscriber, SubscriberId};
use super::topic::{Cursor, Entry, Gap};

/// What a [`Reader`] read: a message's text and offset, or a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Message(String, Option<crate::offset::Offset>),
    Gap(Gap),
}

pub(crate) struct Reader {
    pub(crate) id: SubscriberId,
    pub(crate) cursors: Mutex<Vec<Cursor>>,
    pub(crate) offered: Mutex<Vec<u64>>,
    pub(crate) owed: Mutex<Owed>,
    pub(crate) wakes: AtomicUsize,
    pub(crate) dropped: AtomicUsize,
    pub(crate) refuse_from: AtomicU64,
    pub(crate) budget: Mutex<Owed>,
}

impl Reader {
    pub(crate) fn new() -> std::sync::Arc<Reader> {
        std::sync::Arc::new(Reader {
            id: SubscriberId::next(),
            cursors: Mutex::default(),
            offered: Mutex::default(),
            owed: Mutex::default(),
            wakes: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            refuse_from: AtomicU64::new(u64::MAX),
            budget: Mutex::new(Owed {
                bytes: usize::MAX,
                entries: usize::MAX,
            }),
        })
    }

    /// Everything its cursors hold now, in order.
    pub(crate) fn read_all(&self) -> Vec<Read> {
        let mut cursors = self.cursors.lock().unwrap();
        let mut read = Vec::new();
        for cursor in cursors.iter_mut() {
            if let Some(gap) = cursor.take_gap() {
                read.push(Read::Gap(gap));
            }
            while cursor.peek().is_some() {
                let entry = cursor.advance();
                let text = entry.payload.as_text().unwrap_or_default().to_owned();
                read.push(Read::Message(text, entry.offset));
            }
        }
        cursors.retain(|c| !c.is_finished());
        read
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
        Offer::Taken
    }
    fn wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
    fn replay_budget(&self) -> Owed {
        *self.budget.lock().unwrap()
    }
    fn start(&self, cursor: Cursor, owed: Owed) {
        *self.owed.lock().unwrap() = owed;
        self.cursors.lock().unwrap().push(cursor);
    }
    fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}
