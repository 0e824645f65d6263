//! [`Reading`]: a subscriber's cursors, merged by stamp, at O(log n) per message however many
//! topics it reads.
//!
//! A cursor with something to say waits in a heap by the stamp it goes at; one with nothing is
//! parked, and its subscription tells the subscriber (once) when a publish gives it something
//! ([`Subscriber::ready`](super::Subscriber::ready)), which hands the key to [`Reading::ready`].
//! So a frame costs a heap operation, not a look at every cursor, and a subscriber in 10,000
//! topics pays for the topics that have something for it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::counted::Counted;
use super::cursor::{Cursor, Gap};
use super::entry::Entry;
use super::subscriber::Owed;
use super::subscription::SubscriptionKey;

/// What a cursor says next. An entry is lent by its cursor: reading one takes no reference the
/// topic's other readers count too.
pub(crate) enum Said<'a> {
    Gap(Gap),
    Entry(&'a Arc<Entry>),
}

/// A subscriber's cursors. Nothing is allocated until the first subscription.
#[derive(Default)]
pub(crate) struct Reading {
    inner: Option<Box<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// The cursors, each at a place that stays its own while it lasts.
    slots: Vec<Option<Slot>>,
    /// Places left by cursors that went.
    free: Vec<usize>,
    /// Which place each subscription's cursor is at.
    places: HashMap<SubscriptionKey, usize, Counted>,
    /// The cursors with something to say, by the stamp it goes at (checked again when on top:
    /// a subscription a publish refused says nothing more).
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    /// The cursor the last item came from, looked at again before the next one.
    last: Option<usize>,
    /// What the entries moved past had counted against the subscriber.
    released: Owed,
}

struct Slot {
    cursor: Cursor,
    /// In the heap.
    scheduled: bool,
}

impl Reading {
    /// A new subscription's cursor.
    pub(crate) fn add(&mut self, cursor: Cursor) {
        let inner = self.inner.get_or_insert_default();
        let key = cursor.key();
        let slot = Some(Slot {
            cursor,
            scheduled: false,
        });
        let place = match inner.free.pop() {
            Some(place) => {
                inner.slots[place] = slot;
                place
            }
            None => {
                // One place at a time: most subscribers read one topic or a few, and a cursor
                // is large enough that Vec's first growth (to four) would cost more than it.
                inner.slots.reserve_exact(inner.slots.len().max(1));
                inner.slots.push(slot);
                inner.slots.len() - 1
            }
        };
        inner.places.insert(key, place);
        inner.schedule(place);
    }

    /// The cursor of subscription `key` has something to say (or has ended).
    pub(crate) fn ready(&mut self, key: SubscriptionKey) {
        if let Some(inner) = &mut self.inner
            && let Some(&place) = inner.places.get(&key)
        {
            inner.schedule(place);
        }
    }

    /// Takes the earliest thing the cursors have to say, and the topic it is on, if it goes
    /// before `queued` (the stamp of the subscriber's next queued item).
    pub(crate) fn take_before(&mut self, queued: Option<u64>) -> Option<(&Arc<str>, Said<'_>)> {
        let inner = self.inner.as_mut()?;
        let (stamp, place) = inner.earliest()?;
        if queued.is_some_and(|queued| queued < stamp) {
            return None;
        }
        let slot = inner.slots[place].as_mut()?;
        if slot.scheduled {
            inner.heap.pop(); // `earliest` found it on top
            slot.scheduled = false;
        }
        // What it moves past is counted off when it is next looked at, or asked for
        // (`take_released`).
        inner.last = Some(place);
        if let Some(gap) = slot.cursor.take_gap() {
            return Some((slot.cursor.topic(), Said::Gap(gap)));
        }
        // `earliest` found the entry: its `next_stamp` peeked the cursor, which has not moved.
        let (topic, entry) = slot.cursor.advance();
        Some((topic, Said::Entry(entry)))
    }

    /// What the entries the cursors moved past since last asked had counted: the subscriber
    /// lets go of it.
    pub(crate) fn take_released(&mut self) -> Owed {
        let Some(inner) = self.inner.as_mut() else {
            return Owed::default();
        };
        if let Some(place) = inner.last
            && let Some(slot) = &mut inner.slots[place]
        {
            inner.released.add(slot.cursor.take_released());
        }
        std::mem::take(&mut inner.released)
    }

    /// Whether it reads no topic (every subscription ended and was read to its end).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.places.is_empty())
    }

    /// Drops every cursor: nothing more is read.
    pub(crate) fn clear(&mut self) {
        self.inner = None;
    }
}

impl Inner {
    /// Where the earliest thing the cursors have to say goes, and which cursor says it; `None`
    /// when they have nothing. The cursor read from last stays out of the heap while it still
    /// goes first (a burst on one topic costs no heap operation per message).
    fn earliest(&mut self) -> Option<(u64, usize)> {
        if let Some(place) = self.last.take()
            && let Some(slot) = &mut self.slots[place]
            && !slot.scheduled
        {
            let next = slot.cursor.next_stamp();
            self.released.add(slot.cursor.take_released());
            if let Some(stamp) = next
                && self
                    .heap
                    .peek()
                    .is_none_or(|Reverse((top, _))| stamp < *top)
            {
                self.last = Some(place);
                return Some((stamp, place));
            }
            self.schedule(place);
        }
        loop {
            let Reverse((stamp, place)) = *self.heap.peek()?;
            let Some(slot) = &mut self.slots[place] else {
                self.heap.pop();
                continue;
            };
            if slot.cursor.next_stamp() == Some(stamp) {
                return Some((stamp, place));
            }
            self.heap.pop();
            slot.scheduled = false;
            self.schedule(place);
        }
    }

    /// Puts the cursor at `place` in the heap if it has something to say; parks it if not; lets
    /// it go once its subscription has ended and it has said everything.
    fn schedule(&mut self, place: usize) {
        let Some(slot) = &mut self.slots[place] else {
            return; // it went already
        };
        if slot.scheduled {
            return;
        }
        loop {
            let next = slot.cursor.next_stamp();
            self.released.add(slot.cursor.take_released());
            match next {
                Some(stamp) => {
                    self.heap.push(Reverse((stamp, place)));
                    slot.scheduled = true;
                    return;
                }
                None if slot.cursor.is_finished() => {
                    self.places.remove(&slot.cursor.key());
                    self.slots[place] = None;
                    self.free.push(place);
                    return;
                }
                None if slot.cursor.park() => {} // something came meanwhile: look again
                None => return,
            }
        }
    }
}
