//! The hub's tests: retention, resumes, brokers, and what a subscriber is told.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::{
    Cursor, Entry, Hub, Offer, Offset, Owed, Publish, Resume, Subscriber, SubscriberId,
    SubscriptionKey,
};
use crate::payload::Payload;

use super::testing::{Heard, Read, Reader};

proptest! {
    /// Any offset a client sends, or any text, resumes with exactly the retained messages
    /// after it, and a gap exactly when some it asked for are gone; never a panic.
    #[test]
    fn any_resume_replays_exactly_what_followed_it(
        capacity in 1usize..8,
        published in 0usize..20,
        pick in proptest::option::of(0usize..24),
        junk in proptest::option::of(".{0,12}"),
    ) {
        let hub = Hub::new();
        hub.retain("t", capacity);
        let probe = Reader::new();
        hub.subscribe("t", probe.clone());
        for n in 0..published {
            hub.publish("t", format!("m{n}")).unwrap();
        }
        let offsets: Vec<Offset> = probe.read_all().into_iter().map(|r| match r {
            Read::Message(_, offset) => offset.unwrap(),
            Read::Gap(_) => unreachable!(),
        }).collect();
        // What the client says it saw: one of the offsets, a made-up one, or junk.
        let (resume, seen) = match (pick, junk) {
            (Some(at), _) if at < offsets.len() => (Resume::After(offsets[at]), Some(at)),
            (Some(_), _) => (Resume::After(Offset::new(0, 5)), None),
            (None, Some(text)) => (Resume::from_client(Some(&text)), None),
            (None, None) => (Resume::Live, None),
        };
        let reader = Reader::new();
        hub.subscribe_from("t", reader.clone(), resume);
        let read = reader.read_all();
        let oldest = published.saturating_sub(capacity);
        let (expect_from, expect_gap) = match (resume, seen) {
            (Resume::Live, _) => (published, false),
            (_, Some(at)) => ((at + 1).max(oldest), at + 1 < oldest),
            (_, None) => (oldest, true),
        };
        let gaps = read.iter().filter(|r| matches!(r, Read::Gap(_))).count();
        prop_assert_eq!(gaps, usize::from(expect_gap));
        let texts: Vec<String> = read.into_iter().filter_map(|r| match r {
            Read::Message(text, _) => Some(text),
            Read::Gap(_) => None,
        }).collect();
        let expected: Vec<String> = (expect_from..published).map(|n| format!("m{n}")).collect();
        prop_assert_eq!(texts, expected);
    }
}

/// A broker that records what the hub asks of it.
#[derive(Default)]
struct Calls(Mutex<Vec<String>>);

impl crate::broker::Broker for Arc<Calls> {
    fn start(&self, _inbox: crate::broker::Inbox) {}
    fn subscribe(&self, topic: &str) {
        self.0.lock().unwrap().push(format!("+{topic}"));
    }
    fn unsubscribe(&self, topic: &str) {
        self.0.lock().unwrap().push(format!("-{topic}"));
    }
    fn publish(&self, topic: &str, _envelope: crate::broker::Envelope) {
        self.0.lock().unwrap().push(format!("publish {topic}"));
    }
}

/// Takes entries until told to refuse them.
struct Flaky {
    id: SubscriberId,
    refuse: std::sync::atomic::AtomicBool,
}

impl Subscriber for Flaky {
    fn id(&self) -> SubscriberId {
        self.id
    }
    fn offer(&self, _entry: &Entry) -> Offer {
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            Offer::Refused
        } else {
            Offer::Taken
        }
    }
    fn withdraw(&self, _entry: &Entry) {}
    fn ready(&self, _key: SubscriptionKey) {}
    fn replay_budget(&self) -> Owed {
        Owed::default()
    }
    fn start(&self, _cursor: Cursor, _owed: Owed) {}
}

#[test]
fn a_topic_goes_and_the_broker_lets_go_when_its_last_subscriber_leaves() {
    let calls = Arc::new(Calls::default());
    let hub = Hub::with_broker(calls.clone());
    let (a, b) = (SubscriberId::next(), SubscriberId::next());
    for id in [a, b] {
        let flaky = Flaky {
            id,
            refuse: false.into(),
        };
        hub.subscribe("t", Arc::new(flaky));
    }
    assert_eq!(hub.subscriber_count("t"), 2);
    assert_eq!(hub.publish("t", "m").unwrap(), 2);
    hub.unsubscribe("t", a);
    assert_eq!(hub.topics(), ["t"]);
    hub.unsubscribe("t", b);
    assert_eq!(hub.topic_count(), 0);
    assert_eq!(hub.publish("t", "to nobody").unwrap(), 0);
    assert_eq!(
        *calls.0.lock().unwrap(),
        ["+t", "publish t", "-t", "publish t"]
    );
}

#[test]
fn a_subscriber_dropped_by_a_publish_still_lets_the_topic_go_when_it_leaves() {
    let calls = Arc::new(Calls::default());
    let hub = Hub::with_broker(calls.clone());
    let flaky = Arc::new(Flaky {
        id: SubscriberId::next(),
        refuse: false.into(),
    });
    hub.subscribe("t", flaky.clone());
    flaky
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(hub.publish("t", "refused").unwrap(), 0);
    assert_eq!(hub.subscriber_count("t"), 0, "dropped by the publish");
    hub.unsubscribe("t", flaky.id); // what a closing subscriber does
    assert_eq!(
        hub.inner
            .shards
            .iter()
            .map(|s| s.read().unwrap().len())
            .sum::<usize>(),
        0
    );
    assert_eq!(
        calls.0.lock().unwrap().last().map(String::as_str),
        Some("-t")
    );
}

#[test]
fn a_retained_topic_stays_and_numbers_without_subscribers() {
    let hub = Hub::new();
    hub.retain("news", 2);
    hub.publish("news", "1").unwrap();
    let id = SubscriberId::next();
    hub.subscribe(
        "news",
        Arc::new(Flaky {
            id,
            refuse: false.into(),
        }),
    );
    hub.unsubscribe("news", id);
    hub.publish("news", "2").unwrap();
    hub.publish("news", "3").unwrap();
    let reader = Reader::new();
    hub.subscribe_from("news", reader.clone(), Resume::Unknown);
    assert_eq!(reader.read(), ["2", "3"], "the last two");
}

#[test]
fn retention_by_pattern_numbers_topics_made_at_their_first_publish() {
    let hub = Hub::new();
    hub.retain("todos:*", 3);
    hub.retain("todos:special", 1);
    assert_eq!(
        hub.publish("todos:a", "1").unwrap(),
        0,
        "nobody listens yet"
    );
    hub.publish("todos:a", "2").unwrap();
    hub.publish("todos:special", "x").unwrap();
    hub.publish("todos:special", "y").unwrap();
    hub.publish("other", "not kept").unwrap();
    let reader = Reader::new();
    hub.subscribe_from("todos:a", reader.clone(), Resume::Unknown);
    assert_eq!(reader.read(), ["1", "2"]);
    let reader = Reader::new();
    hub.subscribe_from("todos:special", reader.clone(), Resume::Unknown);
    assert_eq!(reader.read(), ["y"], "an exact name wins over the prefix");
    let reader = Reader::new();
    hub.subscribe_from("other", reader.clone(), Resume::Unknown);
    assert!(
        reader.read_all().is_empty(),
        "not retained: nothing kept, no gap"
    );
}

/// How many topics the hub keeps, with subscribers or without.
fn kept_topics(hub: &Hub) -> usize {
    hub.inner
        .shards
        .iter()
        .map(|s| s.read().unwrap().len())
        .sum()
}

#[test]
fn idle_retained_topics_are_let_go_past_the_bound() {
    let hub = Hub::new();
    hub.retain("doc:*", 1);
    for n in 0..super::MAX_IDLE_RETAINED + 1 {
        hub.publish(&format!("doc:{n}"), "x").unwrap();
    }
    let kept = kept_topics(&hub);
    assert!(kept <= super::MAX_IDLE_RETAINED, "{kept}");
    assert!(kept >= super::MAX_IDLE_RETAINED * 8 / 10, "{kept}");
    // The newest is kept; the oldest went.
    let reader = Reader::new();
    hub.subscribe_from(
        &format!("doc:{}", super::MAX_IDLE_RETAINED),
        reader.clone(),
        Resume::Unknown,
    );
    assert_eq!(reader.read(), ["x"]);
    let reader = Reader::new();
    hub.subscribe_from("doc:0", reader.clone(), Resume::Unknown);
    assert!(reader.read().is_empty());
}

#[test]
fn retained_topics_with_subscribers_past_the_bound_cost_no_scan_and_are_let_go_once_idle() {
    let hub = Hub::new();
    hub.retain("doc:*", 1);
    let max = super::MAX_IDLE_RETAINED;
    let reader = Reader::new();
    for n in 0..max + 100 {
        hub.subscribe(&format!("doc:{n}"), reader.clone());
    }
    let scans = || hub.inner.scans.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(scans(), 0, "none of them is idle: nothing to scan for");
    // Left, they are idle: past the bound, the ones idle longest go.
    for n in 0..max + 100 {
        hub.unsubscribe(&format!("doc:{n}"), reader.id);
    }
    assert!(scans() > 0);
    let kept = kept_topics(&hub);
    assert!(kept <= max, "{kept}");
    assert!(kept >= max * 8 / 10, "{kept}");
}

#[test]
fn an_event_name_travels_with_the_message() {
    let hub = Hub::new();
    let reader = Reader::new();
    hub.subscribe("t", reader.clone());
    hub.publish_event("t", "added", "x").unwrap();
    let [Heard::Entry(entry)] = &reader.take_all()[..] else {
        panic!("one entry")
    };
    assert_eq!(entry.event.as_deref(), Some("added"));
}

/// A broker that keeps history in memory, shared by the hubs it serves: what Redis Streams
/// do, without Redis. Replays can be held back, to publish during the handover.
#[derive(Default)]
struct Memory {
    inboxes: Mutex<Vec<crate::broker::Inbox>>,
    history: Mutex<Vec<(Offset, crate::broker::Envelope)>>,
    held: Mutex<Vec<crate::broker::Replay>>,
    hold: std::sync::atomic::AtomicBool,
    down: std::sync::atomic::AtomicBool,
}

impl crate::broker::Broker for Arc<Memory> {
    fn start(&self, inbox: crate::broker::Inbox) {
        self.inboxes.lock().unwrap().push(inbox);
    }
    fn subscribe(&self, _topic: &str) {}
    fn unsubscribe(&self, _topic: &str) {}
    fn publish(&self, _topic: &str, _envelope: crate::broker::Envelope) {}
    fn keeps_history(&self) -> bool {
        true
    }
    fn append(&self, topic: &str, envelope: crate::broker::Envelope, _capacity: usize) {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            let inboxes = self.inboxes.lock().unwrap();
            let own = inboxes.iter().find(|i| i.instance() == envelope.origin());
            if let Some(inbox) = own {
                inbox.undelivered(topic, envelope);
            }
            return;
        }
        let offset = {
            let mut history = self.history.lock().unwrap();
            let offset = Offset::new(1_000, history.len() as u64 + 1);
            history.push((offset, envelope.clone()));
            offset
        };
        let inboxes = self.inboxes.lock().unwrap().clone();
        for inbox in inboxes {
            inbox.deliver_at(topic, offset, envelope.clone());
        }
    }
    fn replay(&self, replay: crate::broker::Replay) {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return replay.fail();
        }
        if self.hold.load(std::sync::atomic::Ordering::SeqCst) {
            return self.held.lock().unwrap().push(replay);
        }
        self.answer(replay);
    }
}

impl Memory {
    fn answer(&self, replay: crate::broker::Replay) {
        let history = self.history.lock().unwrap();
        let messages = history
            .iter()
            .filter(|(offset, _)| replay.after().is_none_or(|after| *offset > after))
            .cloned()
            .collect();
        drop(history);
        replay.answer(crate::broker::Backlog {
            messages,
            missed: false,
        });
    }

    fn release(&self) {
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        for replay in held {
            self.answer(replay);
        }
    }
}

fn offsets(read: &[Read]) -> Vec<(String, Offset)> {
    read.iter()
        .filter_map(|r| match r {
            Read::Message(text, offset) => Some((text.clone(), offset.expect("retained"))),
            Read::Gap(_) => None,
        })
        .collect()
}

#[test]
fn with_a_broker_that_keeps_history_every_instance_sees_one_numbering() {
    let memory = Arc::new(Memory::default());
    let (a, b) = (
        Hub::with_broker(memory.clone()),
        Hub::with_broker(memory.clone()),
    );
    for hub in [&a, &b] {
        hub.retain("news", 10);
    }
    let (on_a, on_b) = (Reader::new(), Reader::new());
    a.subscribe("news", on_a.clone());
    b.subscribe("news", on_b.clone());
    a.publish("news", "1").unwrap();
    b.publish("news", "2").unwrap();
    a.publish("news", "3").unwrap();
    let seen_a = offsets(&on_a.read_all());
    assert_eq!(seen_a.len(), 3);
    assert_eq!(
        seen_a,
        offsets(&on_b.read_all()),
        "the same order and offsets on both"
    );
}

#[test]
fn a_publish_through_a_broker_that_keeps_history_counts_every_member_but_its_publisher() {
    let memory = Arc::new(Memory::default());
    let hub = Hub::with_broker(memory.clone());
    hub.retain("news", 10);
    let (reader, publisher) = (Reader::new(), Reader::new());
    hub.subscribe("news", reader.clone());
    let from = |origin: &Reader| Publish {
        payload: Payload::text("x"),
        origin: Some(origin.id),
        event: None,
    };
    assert_eq!(
        hub.publish_entry("news", from(&publisher)),
        1,
        "a publisher that is not subscribed is not taken off the count"
    );
    hub.subscribe("news", publisher.clone());
    assert_eq!(hub.publish_entry("news", from(&publisher)), 1);
    assert_eq!(hub.publish("news", "x").unwrap(), 2);
}

#[test]
fn a_resume_the_mirror_cannot_serve_is_fetched_and_published_meanwhile_goes_once() {
    let memory = Arc::new(Memory::default());
    let a = Hub::with_broker(memory.clone());
    a.retain("news", 100);
    let first = Reader::new();
    a.subscribe("news", first.clone());
    for n in 1..=5 {
        a.publish("news", format!("m{n}")).unwrap();
    }
    let seen = offsets(&first.read_all());
    // A client that saw m2 comes back on B, an instance started since, which has no mirror of
    // the topic: B asks the broker, and while the answer is on its way, m6 and m7 are
    // published.
    let b = Hub::with_broker(memory.clone());
    b.retain("news", 100);
    memory.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let back = Reader::new();
    b.subscribe_from("news", back.clone(), Resume::After(seen[1].1));
    a.publish("news", "m6").unwrap();
    a.publish("news", "m7").unwrap();
    assert!(
        back.read_all().is_empty(),
        "nothing before the history arrives"
    );
    memory.release(); // the answer holds m3..m7: m6 and m7 are in both
    a.publish("news", "m8").unwrap();
    let got = offsets(&back.read_all());
    let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        texts,
        ["m3", "m4", "m5", "m6", "m7", "m8"],
        "each once, in order"
    );
    assert_eq!(got[2].1, seen[4].1, "the same offsets as on A");
    // A resume on an instance that receives the topic is read from the broker too: a copy
    // kept here could not tell, without asking, what it missed while not subscribed.
    memory.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let again = Reader::new();
    b.subscribe_from("news", again.clone(), Resume::After(got[3].1));
    assert!(again.read_all().is_empty());
    memory.release();
    let texts: Vec<String> = offsets(&again.read_all())
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(texts, ["m7", "m8"]);
}

#[test]
fn when_the_broker_is_down_local_delivery_goes_on_and_a_resume_is_told_of_a_gap() {
    let memory = Arc::new(Memory::default());
    let a = Hub::with_broker(memory.clone());
    a.retain("news", 10);
    let live = Reader::new();
    a.subscribe("news", live.clone());
    a.publish("news", "before").unwrap();
    let before = offsets(&live.read_all());
    memory.down.store(true, std::sync::atomic::Ordering::SeqCst);
    a.publish("news", "during").unwrap();
    assert_eq!(live.read(), ["during"], "delivered here, without an offset");
    let back = Reader::new();
    a.subscribe_from("news", back.clone(), Resume::After(before[0].1));
    let read = back.read_all();
    assert!(matches!(read[0], Read::Gap(_)), "{read:?}");
    memory
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    a.publish("news", "after").unwrap();
    let after = offsets(&live.read_all());
    assert!(
        after[0].1 > before[0].1,
        "the numbering goes on, without reuse"
    );
}

#[test]
fn a_subscriber_in_many_topics_reads_them_in_publish_order_told_once_per_topic() {
    let hub = Hub::new();
    let reader = Reader::new();
    const TOPICS: usize = 10_000;
    for n in 0..TOPICS {
        hub.subscribe(&format!("t{n}"), reader.clone());
    }
    assert!(
        reader.read_all().is_empty(),
        "nothing yet: every cursor parks"
    );
    // Across the topics in a scrambled order, twice each.
    let order: Vec<usize> = (0..2 * TOPICS).map(|n| (n * 7_919) % TOPICS).collect();
    for (at, n) in order.iter().enumerate() {
        hub.publish(&format!("t{n}"), format!("{at}")).unwrap();
    }
    let expected: Vec<String> = (0..order.len()).map(|at| at.to_string()).collect();
    assert_eq!(reader.read(), expected);
    assert_eq!(
        reader.wakes.load(std::sync::atomic::Ordering::SeqCst),
        TOPICS,
        "each topic's cursor was said to be ready once, not once per message"
    );
    assert_eq!(*reader.owed.lock().unwrap(), Owed::default());
    for n in 0..TOPICS {
        hub.unsubscribe(&format!("t{n}"), reader.id);
    }
    assert!(reader.read_all().is_empty());
    assert!(
        reader.reading.lock().unwrap().is_empty(),
        "every cursor went"
    );
    assert_eq!(hub.topic_count(), 0);
}

/// A resume that starts at the subscriber's own entry (published the moment before it subscribed,
/// as a room's "joined" notice is) skips it, and counts nothing for it: the reader's owed count
/// never goes below zero (it did, and the peer was closed as a slow consumer).
#[test]
fn a_resume_that_starts_at_the_subscribers_own_entry_skips_it_and_owes_nothing_for_it() {
    let hub = Hub::new();
    hub.retain("room", 10);
    let reader = Reader::new();
    hub.publish_entry(
        "room",
        Publish {
            payload: Payload::text("joined"),
            origin: Some(reader.id),
            event: None,
        },
    );
    hub.subscribe_from("room", reader.clone(), Resume::Unknown);
    let said = reader.read_all();
    assert!(
        matches!(said.as_slice(), [Read::Gap(_)]),
        "the gap alone: {said:?}"
    );
    let Read::Gap(gap) = &said[0] else {
        unreachable!("matched just above")
    };
    assert_eq!(
        gap.resumed_at, None,
        "nothing kept is for it: it goes on live"
    );
    hub.publish("room", "next").unwrap();
    assert_eq!(reader.read(), ["next"]);
    let owed = *reader.owed.lock().unwrap();
    assert_eq!((owed.bytes, owed.entries), (0, 0));
}
