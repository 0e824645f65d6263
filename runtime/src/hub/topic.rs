//! One topic: a log of what was published on it, read by every subscriber from its own place.
//!
//! A publish appends one [`Entry`] to the topic's log, whatever the number of subscribers; each
//! subscriber reads on from its [`Cursor`] when it gets to it. What a subscriber has not read yet
//! is kept once, however many subscribers are behind, and is freed as soon as the last of them
//! has read it (entries are chained by `Arc`: a cursor keeps its entry and everything after it
//! alive, and nothing before it). So a burst that many subscribers are slow to read (a crowd of
//! clients that vanished at once, whose `close` hooks each tell the others) costs memory for the
//! messages, not for messages × subscribers.
//!
//! Entries carry a hub-wide stamp, taken under the topic's lock: a subscriber that reads several
//! topics and its own queue merges them by stamp, so what one task sends and then publishes (or
//! publishes and then closes) arrives in that order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::subscriber::{Offer, Subscriber, SubscriberId};
use crate::payload::Payload;

/// The next hub-wide stamp: every entry and every item queued for a peer gets one, in the order
/// they were made.
pub(crate) fn next_stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One published message in a topic's log.
pub(crate) struct Entry {
    /// Its place in the topic, from 1 (0 is the empty log's start).
    pub(crate) seq: u64,
    /// Hub-wide order.
    pub(crate) stamp: u64,
    /// The publishing subscriber, which does not receive it.
    pub(crate) origin: Option<SubscriberId>,
    /// Whether the topic is retained: its entries' `seq` is the id an event stream shows.
    pub(crate) numbered: bool,
    pub(crate) payload: Payload,
    next: OnceLock<Arc<Entry>>,
}

impl Entry {
    fn start(seq: u64) -> Entry {
        Entry {
            seq,
            stamp: 0,
            origin: None,
            numbered: false,
            payload: Payload::binary(bytes::Bytes::new()),
            next: OnceLock::new(),
        }
    }

    /// The entry published after this one, once it is.
    pub(crate) fn next(&self) -> Option<&Arc<Entry>> {
        self.next.get()
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

/// A subscriber's place in a topic's log: the last entry it has read, and where its subscription
/// ends (entries from that `seq` on are not for it).
pub(crate) struct Cursor {
    at: Arc<Entry>,
    until: Arc<AtomicU64>,
    /// Entries by this subscriber are skipped.
    own: SubscriberId,
}

impl Cursor {
    /// The next entry for this subscriber, without moving; `None` when there is none yet.
    /// Skips the subscriber's own entries.
    pub(crate) fn peek(&mut self) -> Option<&Arc<Entry>> {
        loop {
            let next = self.at.next()?;
            // `until` is set before an entry past it is linked, so it is seen here in time.
            if next.seq >= self.until.load(Ordering::Acquire) {
                return None;
            }
            if next.origin == Some(self.own) {
                self.at = next.clone();
                continue;
            }
            // Re-borrow: the loop above moved `self.at`.
            return self.at.next();
        }
    }

    /// Moves past the entry [`Cursor::peek`] returned.
    pub(crate) fn advance(&mut self) -> Arc<Entry> {
        let next = self
            .at
            .next()
            .expect("advance follows a peek that found an entry")
            .clone();
        self.at = next.clone();
        next
    }

    /// The subscription has ended and every entry it owed was read: the cursor can go.
    pub(crate) fn is_finished(&self) -> bool {
        self.at.seq.saturating_add(1) >= self.until.load(Ordering::Acquire)
    }
}

/// A subscriber in a topic's list, with the end of its subscription that its cursor reads.
#[derive(Clone)]
struct Member {
    subscriber: Arc<dyn Subscriber>,
    until: Arc<AtomicU64>,
}

/// A topic's retained history, for subscribers that resume ([`Hub::retain`](crate::Hub::retain)).
struct History {
    capacity: usize,
    entries: VecDeque<Arc<Entry>>,
}

pub(crate) struct Topic {
    state: Mutex<State>,
    /// The hub's broker delivers this topic here (it has had members since it last had none).
    upstream: AtomicBool,
}

struct State {
    /// The last entry: new ones are linked after it.
    tail: Arc<Entry>,
    /// Shared with publishes that wake them after the lock is released.
    members: Arc<Vec<Member>>,
    history: Option<History>,
}

impl Topic {
    pub(crate) fn new() -> Topic {
        Topic {
            state: Mutex::new(State {
                tail: Arc::new(Entry::start(0)),
                members: Arc::default(),
                history: None,
            }),
            upstream: AtomicBool::new(false),
        }
    }

    /// Records whether the broker delivers this topic here; returns whether that changed.
    pub(crate) fn set_upstream(&self, on: bool) -> bool {
        self.upstream.swap(on, Ordering::AcqRel) != on
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the last `capacity` entries for subscribers that resume.
    pub(crate) fn retain(&self, capacity: usize) {
        let mut state = self.lock();
        let history = state.history.get_or_insert_with(|| History {
            capacity,
            entries: VecDeque::new(),
        });
        history.capacity = capacity;
        while history.entries.len() > capacity {
            history.entries.pop_front();
        }
    }

    pub(crate) fn is_retained(&self) -> bool {
        self.lock().history.is_some()
    }

    pub(crate) fn member_count(&self) -> usize {
        self.lock().members.len()
    }

    /// Appends `payload` and offers it to every member but `origin`; returns how many took it.
    pub(crate) fn publish(&self, payload: Payload, origin: Option<SubscriberId>) -> usize {
        let mut state = self.lock();
        let entry = Entry {
            seq: state.tail.seq + 1,
            stamp: next_stamp(),
            origin,
            numbered: state.history.is_some(),
            payload,
            next: OnceLock::new(),
        };
        let mut taken = 0;
        let mut refused = Vec::new();
        for member in state.members.iter() {
            if Some(member.subscriber.id()) == origin {
                continue;
            }
            match member.subscriber.offer(&entry) {
                Offer::Taken => taken += 1,
                Offer::Refused => {
                    // Before the entry is linked: the member's cursor stops short of it.
                    member.until.store(entry.seq, Ordering::Release);
                    refused.push(member.subscriber.clone());
                }
            }
        }
        if !refused.is_empty() {
            let members: Vec<Member> = state
                .members
                .iter()
                .filter(|m| !refused.iter().any(|r| r.id() == m.subscriber.id()))
                .cloned()
                .collect();
            state.members = Arc::new(members);
        }
        let entry = Arc::new(entry);
        if state.tail.next.set(entry.clone()).is_err() {
            unreachable!("only a publish holding the lock links after the tail");
        }
        state.tail = entry.clone();
        if let Some(history) = &mut state.history {
            history.entries.push_back(entry);
            while history.entries.len() > history.capacity {
                history.entries.pop_front();
            }
        }
        let members = state.members.clone();
        drop(state);
        for member in members.iter() {
            if Some(member.subscriber.id()) != origin {
                member.subscriber.wake();
            }
        }
        for subscriber in refused {
            subscriber.dropped();
        }
        taken
    }

    /// Adds `subscriber`, reading from what is published next; a second subscribe is one
    /// subscription. With `resume` (what the subscriber saw last: `Some(None)` when it was not a
    /// number) on a retained topic, the entries after it that the history holds are offered
    /// first, after a gap signal if some it asked for are gone.
    pub(crate) fn subscribe(
        &self,
        name: &Arc<str>,
        subscriber: Arc<dyn Subscriber>,
        resume: Option<Option<u64>>,
    ) {
        let mut state = self.lock();
        if state
            .members
            .iter()
            .any(|m| m.subscriber.id() == subscriber.id())
        {
            return;
        }
        let mut replayed = false;
        if let (Some(history), Some(last)) = (&state.history, resume) {
            let next = state.tail.seq + 1;
            let oldest = history.entries.front().map_or(next, |e| e.seq);
            let from = last.map_or(0, |last| last.saturating_add(1));
            if from < oldest && from < next {
                subscriber.gap(from, oldest);
                replayed = true;
            }
            for entry in history.entries.iter().filter(|e| e.seq >= from) {
                if let Offer::Refused = subscriber.offer(entry) {
                    drop(state);
                    subscriber.dropped();
                    return;
                }
                replayed = true;
            }
        }
        let until = Arc::new(AtomicU64::new(u64::MAX));
        subscriber.start(
            name,
            Cursor {
                at: state.tail.clone(),
                until: until.clone(),
                own: subscriber.id(),
            },
        );
        let mut members = Vec::with_capacity(state.members.len() + 1);
        members.extend(state.members.iter().cloned());
        members.push(Member { subscriber, until });
        state.members = Arc::new(members);
        let wake = replayed.then(|| state.members.last().map(|m| m.subscriber.clone()));
        drop(state);
        if let Some(Some(subscriber)) = wake {
            subscriber.wake(); // what was replayed
        }
    }

    /// Removes subscriber `id`: what was published so far is still for it, nothing after.
    /// Returns how many members are left.
    pub(crate) fn unsubscribe(&self, id: SubscriberId) -> usize {
        let mut state = self.lock();
        let Some(at) = state.members.iter().position(|m| m.subscriber.id() == id) else {
            return state.members.len();
        };
        state.members[at]
            .until
            .store(state.tail.seq + 1, Ordering::Release);
        let mut members = Vec::clone(&state.members);
        members.remove(at);
        state.members = Arc::new(members);
        state.members.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A subscriber that reads through its cursor, as a WebSocket session does, and can be told
    /// to refuse.
    struct Reader {
        id: SubscriberId,
        cursors: Mutex<Vec<Cursor>>,
        offered: Mutex<Vec<u64>>,
        wakes: AtomicUsize,
        dropped: AtomicUsize,
        refuse_from: AtomicU64,
    }

    impl Reader {
        fn new() -> Arc<Reader> {
            Arc::new(Reader {
                id: SubscriberId::next(),
                cursors: Mutex::default(),
                offered: Mutex::default(),
                wakes: AtomicUsize::new(0),
                dropped: AtomicUsize::new(0),
                refuse_from: AtomicU64::new(u64::MAX),
            })
        }

        /// Reads everything its cursors hold now, as text.
        fn read(&self) -> Vec<String> {
            let mut cursors = self.cursors.lock().unwrap();
            let mut read = Vec::new();
            for cursor in cursors.iter_mut() {
                while cursor.peek().is_some() {
                    read.push(cursor.advance().payload.as_text().unwrap().to_owned());
                }
            }
            cursors.retain(|c| !c.is_finished());
            read
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
        fn start(&self, _topic: &Arc<str>, cursor: Cursor) {
            self.cursors.lock().unwrap().push(cursor);
        }
        fn dropped(&self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn text(s: &str) -> Payload {
        Payload::text(s)
    }

    fn subscribed(topic: &Topic, reader: &Arc<Reader>) {
        topic.subscribe(&Arc::from("t"), reader.clone(), None);
    }

    #[test]
    fn each_subscriber_reads_each_entry_once_and_the_publisher_none() {
        let topic = Topic::new();
        let (a, b) = (Reader::new(), Reader::new());
        subscribed(&topic, &a);
        subscribed(&topic, &b);
        assert_eq!(topic.publish(text("from a"), Some(a.id)), 1);
        assert_eq!(topic.publish(text("to all"), None), 2);
        assert_eq!(a.read(), ["to all"]);
        assert_eq!(b.read(), ["from a", "to all"]);
        assert_eq!(b.read(), Vec::<String>::new(), "read once");
        assert_eq!(*a.offered.lock().unwrap(), [2], "its own is not offered");
        assert_eq!(a.wakes.load(Ordering::SeqCst), 1);
        assert_eq!(b.wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn subscribing_twice_is_one_subscription() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        subscribed(&topic, &a);
        assert_eq!(topic.member_count(), 1);
        topic.publish(text("once"), None);
        assert_eq!(a.read(), ["once"]);
    }

    #[test]
    fn what_was_published_before_unsubscribing_is_still_read_nothing_after() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        topic.publish(text("before"), None);
        assert_eq!(topic.unsubscribe(a.id), 0);
        topic.publish(text("after"), None);
        assert_eq!(a.read(), ["before"]);
        assert!(
            a.cursors.lock().unwrap().is_empty(),
            "the finished cursor goes"
        );
    }

    #[test]
    fn a_refusing_subscriber_is_dropped_and_its_cursor_stops_short() {
        let topic = Topic::new();
        let (a, b) = (Reader::new(), Reader::new());
        subscribed(&topic, &a);
        subscribed(&topic, &b);
        a.refuse_from.store(2, Ordering::SeqCst);
        assert_eq!(topic.publish(text("1"), None), 2);
        assert_eq!(topic.publish(text("2"), None), 1);
        assert_eq!(topic.publish(text("3"), None), 1);
        assert_eq!(topic.member_count(), 1);
        assert_eq!(a.dropped.load(Ordering::SeqCst), 1);
        assert_eq!(a.read(), ["1"], "nothing it refused");
        assert_eq!(b.read(), ["1", "2", "3"]);
    }

    #[test]
    fn an_entry_is_kept_once_and_freed_when_the_last_reader_has_read_it() {
        let topic = Topic::new();
        let readers: Vec<_> = (0..100).map(|_| Reader::new()).collect();
        for reader in &readers {
            subscribed(&topic, reader);
        }
        topic.publish(text("first"), None);
        let first: Weak<Entry> = {
            let state = topic.lock();
            Arc::downgrade(&state.tail)
        };
        topic.publish(text("second"), None);
        // 100 cursors before it, one entry.
        assert_eq!(first.strong_count(), 1, "held by the entry before it, once");
        for reader in &readers[..99] {
            reader.read();
        }
        assert!(first.upgrade().is_some(), "one reader has not read it yet");
        readers[99].read();
        assert!(first.upgrade().is_none(), "read by all: gone");
    }

    #[test]
    fn a_long_unread_chain_is_dropped_without_recursion() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        for _ in 0..1_000_000 {
            topic.publish(text(""), None);
        }
        drop(a.cursors.lock().unwrap().drain(..)); // would overflow the stack if recursive
    }

    #[test]
    fn stamps_follow_the_order_of_publishes_across_topics() {
        let (one, two) = (Topic::new(), Topic::new());
        let a = Reader::new();
        one.subscribe(&Arc::from("one"), a.clone(), None);
        two.subscribe(&Arc::from("two"), a.clone(), None);
        one.publish(text("1"), None);
        two.publish(text("2"), None);
        one.publish(text("3"), None);
        let mut cursors = a.cursors.lock().unwrap();
        let mut stamps = Vec::new();
        for cursor in cursors.iter_mut() {
            while let Some(entry) = cursor.peek() {
                stamps.push((entry.stamp, entry.payload.as_text().unwrap().to_owned()));
                cursor.advance();
            }
        }
        stamps.sort();
        let order: Vec<_> = stamps.into_iter().map(|(_, text)| text).collect();
        assert_eq!(order, ["1", "2", "3"]);
    }
}
