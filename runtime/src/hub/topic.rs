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
//!
//! A retained topic also keeps its last entries, each with an [`Offset`], and a subscriber can
//! start from one: its cursor starts in the history, so the replay and what is published
//! meanwhile are one sequence, with no seam to lose or double a message in.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::subscriber::{Offer, Owed, Subscriber, SubscriberId};
use crate::offset::{Offset, Resume};
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
    /// Its place in this process's log; only `until` compares it.
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
    next: OnceLock<Arc<Entry>>,
}

impl Entry {
    fn start(seq: u64) -> Entry {
        Entry {
            seq,
            stamp: 0,
            origin: None,
            offset: None,
            event: None,
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

/// A resume that asked for messages the topic no longer has (or never had here): the subscriber
/// is told once, before what is replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gap {
    /// What the client said it saw last; `None` when it was not an offset.
    pub(crate) after: Option<Offset>,
    /// The first message it gets; `None` when it gets only what is published from now on.
    pub(crate) resumed_at: Option<Offset>,
}

/// The entry a cursor reads next is this one, or the one after it.
enum Link {
    At(Arc<Entry>),
    After(Arc<Entry>),
}

/// A subscriber's place in a topic's log, and where its subscription ends (entries from that
/// `seq` on are not for it).
pub(crate) struct Cursor {
    topic: Arc<str>,
    /// When the subscription began: what it replays was made earlier, but comes after what the
    /// subscriber was sent before it subscribed.
    since: u64,
    /// A replay fetched from the broker's history, read before the log.
    fetched: VecDeque<Arc<Entry>>,
    /// Entries of the log at or before this offset were in `fetched`: skipped.
    fetched_through: Option<Offset>,
    /// What skipping them released (they were counted when published).
    skipped: Owed,
    link: Link,
    until: Arc<AtomicU64>,
    /// Entries by this subscriber are skipped.
    own: SubscriberId,
    gap: Option<Gap>,
}

impl Cursor {
    /// The topic it reads.
    pub(crate) fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// A gap to report before anything else, once.
    pub(crate) fn take_gap(&mut self) -> Option<Gap> {
        self.gap.take()
    }

    /// Whether a gap is still to be reported.
    pub(crate) fn has_gap(&self) -> bool {
        self.gap.is_some()
    }

    /// What entries the cursor skipped as already replayed cost; the reader lets go of it.
    pub(crate) fn take_skipped(&mut self) -> Owed {
        std::mem::take(&mut self.skipped)
    }

    /// Where the next thing this cursor says goes among the subscriber's other sources (its own
    /// queue, its other topics): a gap or a replayed entry when the subscription began, a live
    /// entry when it was published. `None` when there is nothing yet.
    pub(crate) fn next_stamp(&mut self) -> Option<u64> {
        if self.gap.is_some() {
            return Some(self.since);
        }
        let since = self.since;
        self.peek().map(|entry| entry.stamp.max(since))
    }

    /// The next entry for this subscriber, without moving; `None` when there is none yet.
    /// Skips the subscriber's own entries, and those a fetched replay held already.
    pub(crate) fn peek(&mut self) -> Option<&Arc<Entry>> {
        if !self.fetched.is_empty() {
            return self.fetched.front();
        }
        loop {
            let next = match &self.link {
                Link::At(entry) => entry.clone(),
                Link::After(entry) => entry.next()?.clone(),
            };
            // `until` is set before an entry past it is linked, so it is seen here in time.
            if next.seq >= self.until.load(Ordering::Acquire) {
                return None;
            }
            if next.origin == Some(self.own) {
                self.link = Link::After(next);
                continue;
            }
            if let (Some(offset), Some(through)) = (next.offset, self.fetched_through)
                && offset <= through
            {
                self.skipped.bytes += entry_cost(&next);
                self.skipped.entries += 1;
                self.link = Link::After(next);
                continue;
            }
            self.link = Link::At(next);
            let Link::At(entry) = &self.link else {
                unreachable!("set just above")
            };
            return Some(entry);
        }
    }

    /// Moves past the entry [`Cursor::peek`] returned.
    pub(crate) fn advance(&mut self) -> Arc<Entry> {
        if let Some(entry) = self.fetched.pop_front() {
            return entry;
        }
        let Link::At(entry) = &self.link else {
            panic!("advance follows a peek that found an entry")
        };
        let entry = entry.clone();
        self.link = Link::After(entry.clone());
        entry
    }

    /// The subscription has ended and every entry it owed was read: the cursor can go.
    pub(crate) fn is_finished(&self) -> bool {
        let next = match &self.link {
            Link::At(entry) => entry.seq,
            Link::After(entry) => entry.seq.saturating_add(1),
        };
        !self.has_gap() && self.fetched.is_empty() && next >= self.until.load(Ordering::Acquire)
    }
}

/// A subscriber in a topic's list, with the end of its subscription that its cursor reads.
#[derive(Clone)]
struct Member {
    subscriber: Arc<dyn Subscriber>,
    until: Arc<AtomicU64>,
}

/// A retained topic's last entries, each with an offset, for subscribers that resume.
struct History {
    capacity: usize,
    /// Oldest first.
    entries: VecDeque<Arc<Entry>>,
    numbering: Numbering,
}

/// Who gives a retained topic's messages their offsets.
enum Numbering {
    /// This process: `epoch-n`. The epoch is new for each topic in each process, so offsets
    /// from elsewhere are told apart.
    Here {
        epoch: u64,
        next: u64,
        /// The newest offset that is gone: a client that saw less than it missed something.
        trimmed: Option<Offset>,
    },
    /// The broker, whose shared history is the topic's: a resume always reads it (a copy here
    /// could not tell, without asking, whether it missed something while it was not
    /// subscribed), so nothing is kept here but the last offset, to drop what arrives twice.
    Broker { last: Option<Offset> },
}

/// A resume the local history could not serve: it waits for the broker's history (the
/// subscriber is a member meanwhile, so what is published is kept for it).
pub(crate) struct Pending {
    name: Arc<str>,
    subscriber: Arc<dyn Subscriber>,
    until: Arc<AtomicU64>,
    /// The log's tail when the subscriber joined: it reads on from there after the replay.
    tail: Arc<Entry>,
    since: u64,
    resume: Resume,
}

impl Pending {
    /// What the broker is asked: the messages after this offset.
    pub(crate) fn after(&self) -> Option<Offset> {
        match self.resume {
            Resume::After(after) => Some(after),
            _ => None,
        }
    }

    /// How many messages the subscriber may replay at once.
    pub(crate) fn limit(&self) -> usize {
        self.subscriber.replay_budget().entries
    }
}

/// What a broker's history held for a pending resume: the messages after its offset, oldest
/// first, and whether some that followed it are gone.
pub(crate) struct Fetched {
    pub(crate) messages: Vec<(Offset, Publish)>,
    pub(crate) missed: bool,
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
    /// When the last entry was appended (a stamp), to pick idle retained topics to let go of.
    last_publish: u64,
}

/// What a publish appends.
pub(crate) struct Publish {
    pub(crate) payload: Payload,
    pub(crate) origin: Option<SubscriberId>,
    pub(crate) event: Option<Arc<str>>,
}

impl Topic {
    pub(crate) fn new() -> Topic {
        Topic {
            state: Mutex::new(State {
                tail: Arc::new(Entry::start(0)),
                members: Arc::default(),
                history: None,
                // Made counts as active: a topic made for a publish is not let go before it.
                last_publish: next_stamp(),
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

    /// Keeps the last `capacity` entries, with offsets, for subscribers that resume; numbered
    /// here, or, `mirrored`, by the broker whose history is the topic's.
    pub(crate) fn retain(&self, capacity: usize, mirrored: bool) {
        let mut state = self.lock();
        let history = state.history.get_or_insert_with(|| History {
            capacity,
            entries: VecDeque::new(),
            numbering: if mirrored {
                Numbering::Broker { last: None }
            } else {
                Numbering::Here {
                    epoch: epoch(),
                    next: 1,
                    trimmed: None,
                }
            },
        });
        history.capacity = capacity;
        trim(history);
    }

    pub(crate) fn is_retained(&self) -> bool {
        self.lock().history.is_some()
    }

    pub(crate) fn member_count(&self) -> usize {
        self.lock().members.len()
    }

    /// A retained topic with no members: when it last had a message (a stamp).
    pub(crate) fn idle_since(&self) -> Option<u64> {
        let state = self.lock();
        (state.history.is_some() && state.members.is_empty()).then_some(state.last_publish)
    }

    /// Appends a message (numbered here if the topic is retained here) and offers it to every
    /// member but its publisher; returns how many took it.
    pub(crate) fn publish(&self, publish: Publish) -> usize {
        self.append(publish, None)
    }

    /// Appends a message of the broker's history, with its offset there; one at or before the
    /// last one here was appended already (or is older than this mirror) and is dropped.
    pub(crate) fn publish_at(&self, offset: Offset, publish: Publish) -> usize {
        self.append(publish, Some(offset))
    }

    fn append(&self, publish: Publish, given: Option<Offset>) -> usize {
        let mut state = self.lock();
        let offset = match (&mut state.history, given) {
            (
                Some(History {
                    numbering: Numbering::Here { epoch, next, .. },
                    ..
                }),
                _,
            ) => {
                let offset = Offset::new(*epoch, *next);
                *next += 1;
                Some(offset)
            }
            (
                Some(History {
                    numbering: Numbering::Broker { last },
                    ..
                }),
                Some(offset),
            ) => {
                if last.is_some_and(|last| offset <= last) {
                    return 0; // delivered already
                }
                *last = Some(offset);
                Some(offset)
            }
            // Delivered here only (the broker could not take it): not in the shared history.
            (
                Some(History {
                    numbering: Numbering::Broker { .. },
                    ..
                }),
                None,
            ) => None,
            (None, _) => None,
        };
        let stamp = next_stamp();
        let origin = publish.origin;
        let entry = Entry {
            seq: state.tail.seq + 1,
            stamp,
            origin,
            offset,
            event: publish.event,
            payload: publish.payload,
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
        state.last_publish = stamp;
        if let Some(history) = &mut state.history
            && entry.offset.is_some()
            && matches!(history.numbering, Numbering::Here { .. })
        {
            history.entries.push_back(entry);
            trim(history);
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

    /// Adds `subscriber`; a second subscribe is one subscription. It reads what is published from
    /// now on, or, resuming on a retained topic, first what the history holds after the offset it
    /// gives, as much as fits its replay budget; when some of what it asked for is gone, or would
    /// not fit, its cursor reports a gap first. A resume of a topic whose history the broker
    /// keeps is returned, to be fetched and finished with [`Topic::resume_fetched`]; the
    /// subscriber is a member meanwhile.
    pub(crate) fn subscribe(
        &self,
        name: &Arc<str>,
        subscriber: Arc<dyn Subscriber>,
        resume: Resume,
    ) -> Option<Pending> {
        let mut state = self.lock();
        if state
            .members
            .iter()
            .any(|m| m.subscriber.id() == subscriber.id())
        {
            return None;
        }
        let until = Arc::new(AtomicU64::new(u64::MAX));
        let since = next_stamp();
        let plan = match &state.history {
            Some(history) if resume != Resume::Live => {
                plan(history, &state.tail, resume, subscriber.as_ref())
            }
            _ => Some((Link::After(state.tail.clone()), None, Owed::default())),
        };
        let mut members = Vec::with_capacity(state.members.len() + 1);
        members.extend(state.members.iter().cloned());
        members.push(Member {
            subscriber: subscriber.clone(),
            until: until.clone(),
        });
        state.members = Arc::new(members);
        let Some((link, gap, owed)) = plan else {
            return Some(Pending {
                name: name.clone(),
                subscriber,
                until,
                tail: state.tail.clone(),
                since,
                resume,
            });
        };
        let cursor = Cursor {
            topic: name.clone(),
            since,
            fetched: VecDeque::new(),
            fetched_through: None,
            skipped: Owed::default(),
            link,
            until,
            own: subscriber.id(),
            gap,
        };
        let replayed = gap.is_some() || owed.entries > 0;
        subscriber.start(cursor, owed);
        drop(state);
        if replayed {
            subscriber.wake();
        }
        None
    }

    /// Finishes a pending resume with what the broker's history held (`None`: it could not be
    /// read, so the subscriber is told of a gap and goes on with what is published from now on).
    pub(crate) fn resume_fetched(&self, pending: Pending, fetched: Option<Fetched>) {
        let Pending {
            name,
            subscriber,
            until,
            tail,
            since,
            resume,
        } = pending;
        if until.load(Ordering::Acquire) != u64::MAX {
            return; // it left before the history came
        }
        let after = match resume {
            Resume::After(after) => Some(after),
            _ => None,
        };
        let budget = subscriber.replay_budget();
        let (entries, missed) = match fetched {
            Some(fetched) => (fetched.messages, fetched.missed || after.is_none()),
            None => (Vec::new(), true),
        };
        // Newest first, as much as fits the budget.
        let mut owed = Owed::default();
        let mut kept = VecDeque::new();
        let mut cut = false;
        for (offset, publish) in entries.into_iter().rev() {
            let entry = Entry {
                seq: 0,
                stamp: since,
                origin: None,
                offset: Some(offset),
                event: publish.event,
                payload: publish.payload,
                next: OnceLock::new(),
            };
            let cost = entry_cost(&entry);
            if owed.bytes + cost > budget.bytes || owed.entries + 1 > budget.entries {
                cut = true;
                break;
            }
            owed.bytes += cost;
            owed.entries += 1;
            kept.push_front(Arc::new(entry));
        }
        let fetched_through = kept.back().and_then(|e| e.offset);
        let gap = (missed || cut).then(|| Gap {
            after,
            resumed_at: kept.front().and_then(|e| e.offset),
        });
        let cursor = Cursor {
            topic: name,
            since,
            fetched: kept,
            fetched_through,
            skipped: Owed::default(),
            link: Link::After(tail),
            until,
            own: subscriber.id(),
            gap,
        };
        subscriber.start(cursor, owed);
        subscriber.wake();
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

/// Drops the oldest entries past the capacity, remembering what is gone.
fn trim(history: &mut History) {
    while history.entries.len() > history.capacity {
        let Some(gone) = history.entries.pop_front() else {
            break;
        };
        if let Numbering::Here { trimmed, .. } = &mut history.numbering {
            *trimmed = gone.offset;
        }
    }
}

/// A topic's history is named by a number that no other topic in any process shares: the time
/// in milliseconds, then a count (two topics made in one millisecond differ by one).
fn epoch() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Where a resuming subscriber starts in `history`, the gap to report, and what the replay owes;
/// `None` when the broker's history must be read.
fn plan(
    history: &History,
    tail: &Arc<Entry>,
    resume: Resume,
    subscriber: &dyn Subscriber,
) -> Option<(Link, Option<Gap>, Owed)> {
    let entries = &history.entries;
    let (mut from, mut gap) = match (&history.numbering, resume) {
        (_, Resume::Live) => unreachable!("a live subscription does not replay"),
        (Numbering::Here { .. }, Resume::Unknown) => (0, Some(None)),
        (Numbering::Here { epoch, .. }, Resume::After(after)) if after.major() != *epoch => {
            (0, Some(Some(after)))
        }
        (Numbering::Here { trimmed, .. }, Resume::After(after)) => {
            let from = entries.partition_point(|e| e.offset.is_some_and(|o| o <= after));
            let missed = trimmed.is_some_and(|trimmed| after < trimmed);
            (from, missed.then_some(Some(after)))
        }
        (Numbering::Broker { .. }, _) => return None,
    };
    // As much as fits the subscriber's budget, newest first: one further behind than that is
    // told it missed the rest.
    let budget = subscriber.replay_budget();
    let mut owed = Owed::default();
    let mut cut = None;
    for at in (from..entries.len()).rev() {
        let entry = &entries[at];
        if entry.origin == Some(subscriber.id()) {
            continue;
        }
        let cost = entry_cost(entry);
        if owed.bytes + cost > budget.bytes || owed.entries + 1 > budget.entries {
            cut = Some(at + 1);
            break;
        }
        owed.bytes += cost;
        owed.entries += 1;
    }
    if let Some(start) = cut {
        if gap.is_none() {
            gap = Some(match resume {
                Resume::After(after) => Some(after),
                _ => None,
            });
        }
        from = start;
    }
    let gap = gap.map(|after| Gap {
        after,
        resumed_at: entries.get(from).and_then(|e| e.offset),
    });
    let link = match entries.get(from) {
        Some(entry) => Link::At(entry.clone()),
        None => Link::After(tail.clone()),
    };
    Some((link, gap, owed))
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;

    use super::super::testing::Reader;
    use super::*;

    fn subscribed(topic: &Topic, reader: &Arc<Reader>) {
        assert!(
            topic
                .subscribe(&Arc::from("t"), reader.clone(), Resume::Live)
                .is_none()
        );
    }

    fn publish(topic: &Topic, text: &str, origin: Option<SubscriberId>) -> usize {
        topic.publish(Publish {
            payload: Payload::text(text),
            origin,
            event: None,
        })
    }

    #[test]
    fn each_subscriber_reads_each_entry_once_and_the_publisher_none() {
        let topic = Topic::new();
        let (a, b) = (Reader::new(), Reader::new());
        subscribed(&topic, &a);
        subscribed(&topic, &b);
        assert_eq!(publish(&topic, "from a", Some(a.id)), 1);
        assert_eq!(publish(&topic, "to all", None), 2);
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
        publish(&topic, "once", None);
        assert_eq!(a.read(), ["once"]);
    }

    #[test]
    fn what_was_published_before_unsubscribing_is_still_read_nothing_after() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        publish(&topic, "before", None);
        assert_eq!(topic.unsubscribe(a.id), 0);
        publish(&topic, "after", None);
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
        assert_eq!(publish(&topic, "1", None), 2);
        assert_eq!(publish(&topic, "2", None), 1);
        assert_eq!(publish(&topic, "3", None), 1);
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
        publish(&topic, "first", None);
        let first: Weak<Entry> = {
            let state = topic.lock();
            Arc::downgrade(&state.tail)
        };
        publish(&topic, "second", None);
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
            publish(&topic, "", None);
        }
        drop(a.cursors.lock().unwrap().drain(..)); // would overflow the stack if recursive
    }

    #[test]
    fn stamps_follow_the_order_of_publishes_across_topics() {
        let (one, two) = (Topic::new(), Topic::new());
        let a = Reader::new();
        one.subscribe(&Arc::from("one"), a.clone(), Resume::Live);
        two.subscribe(&Arc::from("two"), a.clone(), Resume::Live);
        publish(&one, "1", None);
        publish(&two, "2", None);
        publish(&one, "3", None);
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

    fn retained(capacity: usize, messages: usize) -> (Topic, Vec<Offset>) {
        let topic = Topic::new();
        topic.retain(capacity, false);
        let probe = Reader::new();
        subscribed(&topic, &probe);
        for n in 1..=messages {
            publish(&topic, &format!("m{n}"), None);
        }
        let offsets = probe
            .read_all()
            .into_iter()
            .map(|read| match read {
                super::super::testing::Read::Message(_, offset) => offset.expect("retained"),
                other => panic!("{other:?}"),
            })
            .collect();
        topic.unsubscribe(probe.id);
        (topic, offsets)
    }

    fn resumed(topic: &Topic, resume: Resume) -> Arc<Reader> {
        let reader = Reader::new();
        topic.subscribe(&Arc::from("t"), reader.clone(), resume);
        reader
    }

    #[test]
    fn a_resume_replays_what_followed_then_goes_on_live_as_one_sequence() {
        let (topic, offsets) = retained(10, 5);
        let reader = resumed(&topic, Resume::After(offsets[1]));
        publish(&topic, "m6", None); // published during the handover
        assert_eq!(reader.read(), ["m3", "m4", "m5", "m6"]);
        publish(&topic, "m7", None);
        assert_eq!(reader.read(), ["m7"]);
        assert_eq!(reader.owed.lock().unwrap().entries, 3, "the replay is owed");
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets grow");
    }

    #[test]
    fn a_resume_from_the_newest_offset_or_beyond_gets_only_what_comes_next() {
        let (topic, offsets) = retained(10, 3);
        let ahead = Offset::new(offsets[2].major(), u64::MAX);
        for after in [offsets[2], ahead] {
            let reader = resumed(&topic, Resume::After(after));
            assert!(reader.read_all().is_empty(), "nothing to replay, no gap");
            topic.unsubscribe(reader.id);
        }
    }

    #[test]
    fn a_resume_older_than_the_history_is_told_of_the_gap_then_gets_what_is_kept() {
        let (topic, offsets) = retained(3, 6); // m4..m6 kept
        let reader = resumed(&topic, Resume::After(offsets[0]));
        let read = reader.read_all();
        assert_eq!(
            read[0],
            super::super::testing::Read::Gap(Gap {
                after: Some(offsets[0]),
                resumed_at: Some(offsets[3]),
            })
        );
        assert_eq!(reader.read(), Vec::<String>::new(), "read once");
        assert_eq!(read.len(), 4, "{read:?}");
        // One that saw m3, the last trimmed, missed nothing.
        let reader = resumed(&topic, Resume::After(offsets[2]));
        assert_eq!(reader.read_all().len(), 3, "no gap");
    }

    #[test]
    fn an_offset_from_elsewhere_or_no_offset_is_a_gap_and_the_whole_history() {
        let (topic, offsets) = retained(10, 3);
        let earlier_process = Offset::new(offsets[0].major() - 1, 2);
        for (resume, after) in [
            (Resume::After(earlier_process), Some(earlier_process)),
            (Resume::Unknown, None),
        ] {
            let reader = resumed(&topic, resume);
            let read = reader.read_all();
            let super::super::testing::Read::Gap(gap) = read[0] else {
                panic!("{read:?}")
            };
            assert_eq!(gap.after, after);
            assert_eq!(gap.resumed_at, Some(offsets[0]));
            assert_eq!(read.len(), 4);
        }
    }

    #[test]
    fn a_replay_larger_than_the_budget_keeps_the_newest_and_says_so() {
        let (topic, offsets) = retained(10, 5);
        let reader = Reader::new();
        let mut sample = Entry::start(0);
        sample.payload = Payload::text("m1");
        let one = entry_cost(&sample);
        *reader.budget.lock().unwrap() = Owed {
            bytes: 2 * one,
            entries: usize::MAX,
        };
        topic.subscribe(&Arc::from("t"), reader.clone(), Resume::After(offsets[0]));
        let read = reader.read_all();
        assert_eq!(
            read[0],
            super::super::testing::Read::Gap(Gap {
                after: Some(offsets[0]),
                resumed_at: Some(offsets[3]),
            })
        );
        assert_eq!(read.len(), 3, "m4 and m5: {read:?}");
        assert_eq!(reader.owed.lock().unwrap().bytes, 2 * one);
    }
}
