//! One topic: a log of what was published on it, its members, and its history if retained.
//!
//! A publish links one [`Entry`] to the log under the topic's lock, which it holds for nothing
//! more, then offers the entry to the members ([`roster`](super::roster)) without that lock, in
//! log order: joins and leaves never wait for a publish to walk a room, and a room's publishes
//! never wait for its joins. Each member reads the entry from its [`Cursor`] when it gets to it.
//!
//! Entries carry a hub-wide stamp, taken under the topic's lock: a subscriber that reads several
//! topics and its own queue merges them by stamp, so what one task sends and then publishes (or
//! publishes and then closes) arrives in that order.
//!
//! A retained topic also keeps its last entries, each with an [`Offset`], and a subscriber can
//! start from one: its cursor starts in the history, so the replay and what is published
//! meanwhile are one sequence.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::cursor::{Cursor, Gap, Link, Start};
use super::entry::{Entry, entry_cost, next_stamp};
use super::history::{History, Numbered};
use super::roster::{Member, Roster, Walk};
use super::subscriber::{Owed, Subscriber, SubscriberId};
use super::subscription::Subscription;
use crate::offset::{Offset, Resume};
use crate::payload::Payload;

/// A resume the local history could not serve: it waits for the broker's history (the
/// subscriber is a member meanwhile, so what is published is kept for it).
pub(crate) struct Pending {
    name: Arc<str>,
    subscriber: Arc<dyn Subscriber>,
    subscription: Arc<Subscription>,
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

/// What a publish appends.
pub(crate) struct Publish {
    pub(crate) payload: Payload,
    pub(crate) origin: Option<SubscriberId>,
    pub(crate) event: Option<Arc<str>>,
}

pub(crate) struct Topic {
    state: Mutex<State>,
    /// Publishes offer entries to the members one at a time, in log order.
    offers: Mutex<Offers>,
    /// The hub's broker delivers this topic here (it has had members since it last had none).
    upstream: AtomicBool,
    /// The hub counts it among its idle retained topics.
    counted_idle: AtomicBool,
}

struct State {
    /// The last entry: new ones are linked after it.
    tail: Arc<Entry>,
    roster: Roster,
    history: Option<History>,
    /// When the last entry was appended (a stamp), to pick idle retained topics to let go of.
    last_publish: u64,
}

struct Offers {
    /// The last entry offered to the members.
    last: Arc<Entry>,
    /// How many members took entries that another publish offered for theirs, by `seq`, until
    /// their own publish collects it.
    reached: Vec<(u64, usize)>,
}

impl Topic {
    pub(crate) fn new() -> Topic {
        let start = Arc::new(Entry::start());
        Topic {
            state: Mutex::new(State {
                tail: start.clone(),
                roster: Roster::default(),
                history: None,
                // Made counts as active: a topic made for a publish is not let go before it.
                last_publish: next_stamp(),
            }),
            offers: Mutex::new(Offers {
                last: start,
                reached: Vec::new(),
            }),
            upstream: AtomicBool::new(false),
            counted_idle: AtomicBool::new(false),
        }
    }

    /// Records whether the broker delivers this topic here; returns whether that changed.
    pub(crate) fn set_upstream(&self, on: bool) -> bool {
        self.upstream.swap(on, Ordering::AcqRel) != on
    }

    /// Records whether the hub counts this topic as idle; returns whether that changed.
    pub(crate) fn set_counted_idle(&self, idle: bool) -> bool {
        self.counted_idle.swap(idle, Ordering::AcqRel) != idle
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the last `capacity` entries, with offsets, for subscribers that resume; numbered
    /// here, or, `mirrored`, by the broker whose history is the topic's.
    pub(crate) fn retain(&self, capacity: usize, mirrored: bool) {
        let mut state = self.lock();
        match &mut state.history {
            Some(history) => history.set_capacity(capacity),
            None => state.history = Some(History::new(capacity, mirrored)),
        }
    }

    pub(crate) fn is_retained(&self) -> bool {
        self.lock().history.is_some()
    }

    pub(crate) fn member_count(&self) -> usize {
        self.lock().roster.len()
    }

    /// How many members take entries, not counting `publisher` (who is not offered its own).
    pub(crate) fn member_count_but(&self, publisher: Option<SubscriberId>) -> usize {
        let state = self.lock();
        let member = publisher
            .and_then(|id| state.roster.get(id))
            .is_some_and(|subscription| !subscription.is_refused());
        state.roster.len() - usize::from(member)
    }

    /// A retained topic with no members: when it last had a message (a stamp).
    pub(crate) fn idle_since(&self) -> Option<u64> {
        let state = self.lock();
        (state.history.is_some() && state.roster.len() == 0).then_some(state.last_publish)
    }

    /// Appends a message (numbered here if the topic is retained here) and offers it to every
    /// member but its publisher; returns how many took it.
    pub(crate) fn publish(&self, publish: Publish) -> usize {
        let reached = self.append(publish, None);
        crate::telemetry::meters()
            .deliveries
            .increment(reached as u64);
        reached
    }

    /// Appends a message of the broker's history, with its offset there; one at or before the
    /// last one here was appended already (or is older than this mirror) and is dropped.
    pub(crate) fn publish_at(&self, offset: Offset, publish: Publish) -> usize {
        let reached = self.append(publish, Some(offset));
        crate::telemetry::meters()
            .deliveries
            .increment(reached as u64);
        reached
    }

    fn append(&self, publish: Publish, given: Option<Offset>) -> usize {
        let (entry, walk) = {
            let mut state = self.lock();
            let offset = match state.history.as_mut().map(|h| h.number(given)) {
                Some(Numbered::At(offset)) => Some(offset),
                Some(Numbered::Seen) => return 0, // delivered already
                Some(Numbered::Unnumbered) | None => None,
            };
            let stamp = next_stamp();
            let entry = Arc::new(Entry::new(
                state.tail.seq + 1,
                stamp,
                publish.origin,
                offset,
                publish.event,
                publish.payload,
            ));
            state.tail.link(entry.clone());
            state.tail = entry.clone();
            state.last_publish = stamp;
            if let Some(history) = &mut state.history {
                history.keep(&entry);
            }
            (entry, state.roster.walk())
        };
        let mut dropped = Vec::new();
        let taken = self.offer(&entry, &walk, &mut dropped);
        for subscriber in dropped {
            subscriber.dropped();
        }
        taken
    }

    /// Offers the entries linked before `entry` that no publish has offered yet, then `entry`;
    /// returns how many members took `entry`.
    fn offer(
        &self,
        entry: &Arc<Entry>,
        walk: &Walk,
        dropped: &mut Vec<Arc<dyn Subscriber>>,
    ) -> usize {
        let mut offers = self.offers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = offers.reached.iter().position(|(seq, _)| *seq == entry.seq) {
            return offers.reached.swap_remove(at).1; // a publish before it offered it
        }
        loop {
            let Some(next) = offers.last.next().cloned() else {
                unreachable!("every entry up to this publish's is linked")
            };
            // `walk` is this publish's view of the members, taken after the earlier entries
            // were linked: it holds every member they are for.
            let taken = walk.offer(&next, dropped);
            offers.last = next.clone();
            if next.seq == entry.seq {
                return taken;
            }
            offers.reached.push((next.seq, taken));
        }
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
        let id = subscriber.id();
        if let Some(known) = state.roster.get(id) {
            if !known.is_refused() {
                return None;
            }
            state.roster.remove(id); // dropped by a publish: it begins anew
        }
        let subscription = Arc::new(Subscription::new(state.tail.seq));
        let since = next_stamp();
        let plan = match &state.history {
            Some(history) if resume != Resume::Live => {
                history.plan(&state.tail, resume, subscriber.as_ref())
            }
            _ => Some((Link::After(state.tail.clone()), None, Owed::default())),
        };
        state
            .roster
            .insert(Member::new(subscriber.clone(), subscription.clone()));
        let Some((link, gap, owed)) = plan else {
            return Some(Pending {
                name: name.clone(),
                subscriber,
                subscription,
                tail: state.tail.clone(),
                since,
                resume,
            });
        };
        let start = Start {
            link,
            gap,
            fetched: VecDeque::new(),
        };
        subscriber.start(
            Cursor::new(name.clone(), subscription, id, since, start),
            owed,
        );
        None
    }

    /// Finishes a pending resume with what the broker's history held (`None`: it could not be
    /// read, so the subscriber is told of a gap and goes on with what is published from now on).
    pub(crate) fn resume_fetched(&self, pending: Pending, fetched: Option<Fetched>) {
        let Pending {
            name,
            subscriber,
            subscription,
            tail,
            since,
            resume,
        } = pending;
        let own = subscriber.id();
        let mut start = Start {
            link: Link::After(tail),
            gap: None,
            fetched: VecDeque::new(),
        };
        let mut owed = Owed::default();
        // One that left before the history came reads what was published while it was a member
        // (so what it was counted is released), and nothing of the history.
        if subscription.until() == u64::MAX {
            (start.fetched, start.gap, owed) = replay(fetched, resume, since, subscriber.as_ref());
        }
        subscriber.start(Cursor::new(name, subscription, own, since, start), owed);
    }

    /// Removes subscriber `id`: what was published so far is still for it, nothing after.
    /// Returns how many members are left.
    pub(crate) fn unsubscribe(&self, id: SubscriberId) -> usize {
        let (member, left) = {
            let mut state = self.lock();
            let member = state.roster.remove(id);
            if let Some(member) = &member {
                member.subscription().end_at(state.tail.seq + 1);
            }
            (member, state.roster.len())
        };
        // Its reader looks again, finds the end, and lets the cursor go.
        if let Some(member) = member
            && member.subscription().notify()
        {
            member.subscriber().ready(member.subscription().key());
        }
        left
    }
}

/// What a fetched history replays to a subscriber: the newest messages that fit its budget, a gap
/// when some are missing or did not fit, and what they owe.
fn replay(
    fetched: Option<Fetched>,
    resume: Resume,
    since: u64,
    subscriber: &dyn Subscriber,
) -> (VecDeque<Arc<Entry>>, Option<Gap>, Owed) {
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
        let entry = Entry::new(0, since, None, Some(offset), publish.event, publish.payload);
        let cost = entry_cost(&entry);
        if owed.bytes + cost > budget.bytes || owed.entries + 1 > budget.entries {
            cut = true;
            break;
        }
        owed.bytes += cost;
        owed.entries += 1;
        kept.push_front(Arc::new(entry));
    }
    let gap = (missed || cut).then(|| Gap {
        after,
        resumed_at: kept.front().and_then(|e| e.offset),
    });
    crate::telemetry::resumed(owed.entries, gap.is_some());
    (kept, gap, owed)
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
        // Told once each: b's cursor was not read between the two publishes.
        assert_eq!(a.wakes.load(Ordering::SeqCst), 1);
        assert_eq!(b.wakes.load(Ordering::SeqCst), 1);
        assert_eq!(
            *b.owed.lock().unwrap(),
            Owed::default(),
            "nothing owed once read"
        );
        publish(&topic, "again", None);
        assert_eq!(b.wakes.load(Ordering::SeqCst), 2, "read, so told again");
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
            a.reading.lock().unwrap().is_empty(),
            "the finished cursor goes"
        );
        assert_eq!(*a.owed.lock().unwrap(), Owed::default());
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
        a.reading.lock().unwrap().clear(); // would overflow the stack if recursive
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
        assert_eq!(a.read(), ["1", "2", "3"]);
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
        assert_eq!(
            reader.replayed.lock().unwrap().entries,
            3,
            "the replay is owed"
        );
        assert_eq!(
            *reader.owed.lock().unwrap(),
            Owed::default(),
            "and released once read"
        );
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
        let sample = Entry::new(0, 0, None, None, None, Payload::text("m1"));
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
        assert_eq!(reader.replayed.lock().unwrap().bytes, 2 * one);
    }

    #[test]
    fn a_publishers_cursor_moves_past_its_own_entries_so_the_log_behind_it_is_freed() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        assert!(a.read_all().is_empty()); // its cursor is parked
        publish(&topic, "own", Some(a.id));
        let own = Arc::downgrade(&topic.lock().tail);
        publish(&topic, "own too", Some(a.id));
        assert!(a.read().is_empty(), "its own are not for it");
        assert!(own.upgrade().is_none(), "nothing keeps what it published");
    }

    #[test]
    fn members_leave_and_join_anywhere_in_a_room_of_many_chunks() {
        let topic = Topic::new();
        let readers: Vec<_> = (0..1_000).map(|_| Reader::new()).collect();
        for reader in &readers {
            subscribed(&topic, reader);
        }
        // Every third leaves: holes in every chunk.
        for reader in readers.iter().step_by(3) {
            topic.unsubscribe(reader.id);
        }
        assert_eq!(topic.member_count(), 666);
        let late: Vec<_> = (0..400).map(|_| Reader::new()).collect();
        for reader in &late {
            subscribed(&topic, reader);
        }
        assert_eq!(topic.member_count(), 1_066);
        assert_eq!(publish(&topic, "all", None), 1_066);
        for (n, reader) in readers.iter().enumerate() {
            let expected: &[&str] = if n % 3 == 0 { &[] } else { &["all"] };
            assert_eq!(reader.read(), expected, "reader {n}");
        }
        for reader in &late {
            assert_eq!(reader.read(), ["all"]);
            assert_eq!(*reader.owed.lock().unwrap(), Owed::default());
        }
    }

    #[test]
    fn a_refused_member_that_subscribes_again_begins_anew() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        a.refuse_from.store(1, Ordering::SeqCst);
        assert_eq!(publish(&topic, "refused", None), 0);
        assert_eq!(topic.member_count(), 0);
        a.refuse_from.store(u64::MAX, Ordering::SeqCst);
        subscribed(&topic, &a);
        assert_eq!(topic.member_count(), 1);
        assert_eq!(publish(&topic, "welcome back", None), 1);
        assert_eq!(a.read(), ["welcome back"]);
        assert_eq!(topic.unsubscribe(a.id), 0);
    }

    /// A cursor that reads an entry before the publish has offered it to that member (the
    /// publish offers outside the topic's lock): the entry is counted once, by whichever side
    /// claims it first, so what the subscriber owes comes back to zero.
    #[test]
    fn an_entry_read_before_its_publish_offers_it_is_counted_once() {
        let topic = Topic::new();
        let a = Reader::new();
        subscribed(&topic, &a);
        // Link an entry without offering it, as a publish preempted between the two would.
        let entry = {
            let mut state = topic.lock();
            let entry = Arc::new(Entry::new(
                1,
                next_stamp(),
                None,
                None,
                None,
                Payload::text("x"),
            ));
            state.tail.link(entry.clone());
            state.tail = entry.clone();
            entry
        };
        a.look_again();
        assert_eq!(a.read(), ["x"], "read before it was offered");
        assert_eq!(*a.owed.lock().unwrap(), Owed::default());
        let walk = topic.lock().roster.walk();
        let mut dropped = Vec::new();
        assert_eq!(topic.offer(&entry, &walk, &mut dropped), 1, "still reached");
        assert_eq!(
            *a.owed.lock().unwrap(),
            Owed::default(),
            "withdrawn, not owed twice"
        );
        assert!(a.offered.lock().unwrap().contains(&1));
    }

    /// Publishes, joins and leaves from several threads at once: every member reads exactly
    /// what was published while it was one, in order, and owes nothing once it has read it.
    #[test]
    fn concurrent_publishes_joins_and_leaves_lose_and_double_nothing() {
        use std::sync::atomic::AtomicBool;
        let topic = Arc::new(Topic::new());
        let stop = Arc::new(AtomicBool::new(false));
        let publishers: Vec<_> = (0..2)
            .map(|p| {
                let (topic, stop) = (topic.clone(), stop.clone());
                std::thread::spawn(move || {
                    // Until the members are done (bounded, should they hang).
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                        publish(&topic, &format!("{p}:{n}"), None);
                        n += 1;
                    }
                })
            })
            .collect();
        let members: Vec<_> = (0..2)
            .map(|_| {
                let topic = topic.clone();
                std::thread::spawn(move || {
                    let mut checked = 0;
                    for _ in 0..300 {
                        let reader = Reader::new();
                        subscribed(&topic, &reader);
                        // Stay a member until something arrives (the publishers never stop
                        // before the members do).
                        let mut seen = reader.read();
                        while seen.is_empty() {
                            std::thread::yield_now();
                            seen.extend(reader.read());
                        }
                        topic.unsubscribe(reader.id);
                        seen.extend(reader.read());
                        assert!(reader.reading.lock().unwrap().is_empty(), "read to its end");
                        assert_eq!(*reader.owed.lock().unwrap(), Owed::default());
                        // Each publisher's messages in order, none twice.
                        let mut last = [None::<u64>; 2];
                        for text in &seen {
                            let (p, n) = text.split_once(':').unwrap();
                            let (p, n): (usize, u64) = (p.parse().unwrap(), n.parse().unwrap());
                            assert!(
                                last[p].is_none_or(|last| n == last + 1),
                                "{p}: {last:?} then {n}"
                            );
                            last[p] = Some(n);
                        }
                        checked += seen.len();
                    }
                    checked
                })
            })
            .collect();
        let checked: usize = members.into_iter().map(|m| m.join().unwrap()).sum();
        stop.store(true, Ordering::Relaxed);
        for publisher in publishers {
            publisher.join().unwrap();
        }
        assert_eq!(topic.member_count(), 0);
        assert!(checked >= 600, "each membership read something: {checked}");
    }
}
