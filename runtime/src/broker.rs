//! Sharing topics across server processes. A [`Hub`](crate::Hub) delivers in-process by default;
//! with a [`Broker`] it also hands every local publish to the broker and delivers what other
//! instances publish. `redis::RedisBroker` (cargo feature `redis`) is the implementation.
//!
//! The semantics match one process: a peer's publish reaches every subscriber on every instance
//! except the publisher; a server-side publish reaches every subscriber once; messages from one
//! publisher on one topic arrive in order. Local delivery never waits for the broker.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use crate::offset::Offset;
use crate::payload::Payload;

mod presence;
mod reply;

pub use presence::{MembersHere, PresenceAnswer, PresenceAsk, PresenceChange, PresenceQuery};
use reply::Reply;

/// A message as it crosses between instances: the publishing instance and the payload. A broker
/// carries it as the bytes of [`Envelope::encode`] and hands what it receives to
/// [`Inbox::deliver`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// An instance ignores its own messages (it delivered them locally).
    origin: u128,
    /// The publishing peer on that instance (0: a server-side publish), which does not receive
    /// its own message when the broker delivers it back.
    sender: u64,
    payload: Payload,
    /// The event name an event stream gives it.
    event: Option<Arc<str>>,
}

/// Version 1 carried no event name; instances still read it, so a rolling deploy mixes them.
const VERSION: u8 = 2;

impl Envelope {
    pub(crate) fn new(origin: u128, payload: Payload, event: Option<Arc<str>>) -> Envelope {
        Envelope {
            origin,
            sender: 0,
            payload,
            event,
        }
    }

    /// The publishing peer, who is not sent its own message.
    pub(crate) fn with_sender(mut self, sender: u64) -> Envelope {
        self.sender = sender;
        self
    }

    pub(crate) fn into_parts(self) -> (u128, u64, Payload, Option<Arc<str>>) {
        (self.origin, self.sender, self.payload, self.event)
    }

    /// The instance that published it.
    pub fn origin(&self) -> u128 {
        self.origin
    }

    /// What it carries.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The event name an event stream gives it, if the publish named one.
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// `[2][0 text | 1 binary][origin: 16 bytes][sender: 8 bytes][event length: 2 bytes][event]
    /// [payload]`, numbers big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let bytes = self.payload.as_bytes();
        let event = self.event.as_deref().unwrap_or_default().as_bytes();
        let event = &event[..event.len().min(usize::from(u16::MAX))];
        let mut out = Vec::with_capacity(28 + event.len() + bytes.len());
        out.push(VERSION);
        out.push(u8::from(self.payload.is_binary()));
        out.extend_from_slice(&self.origin.to_be_bytes());
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&(event.len() as u16).to_be_bytes());
        out.extend_from_slice(event);
        out.extend_from_slice(bytes);
        out
    }

    /// The inverse of [`Envelope::encode`] (and of version 1, without an event name); `None` for
    /// anything else found on the channel, text that is not UTF-8 included.
    pub fn decode(bytes: &[u8]) -> Option<Envelope> {
        let (&[version, kind], rest) = bytes.split_first_chunk::<2>()?;
        let (origin, rest) = rest.split_first_chunk::<16>()?;
        if kind > 1 {
            return None;
        }
        let (sender, event, payload) = match version {
            1 => (0, None, rest),
            2 => {
                let (sender, rest) = rest.split_first_chunk::<8>()?;
                let (length, rest) = rest.split_first_chunk::<2>()?;
                let length = usize::from(u16::from_be_bytes(*length));
                let event = rest.get(..length)?;
                let event = std::str::from_utf8(event).ok()?;
                let event = (!event.is_empty()).then(|| Arc::from(event));
                (u64::from_be_bytes(*sender), event, &rest[length..])
            }
            _ => return None,
        };
        let payload = Bytes::copy_from_slice(payload);
        let payload = match kind {
            1 => Payload::binary(payload),
            _ => Payload::text_from_bytes(payload)?,
        };
        Some(Envelope {
            origin: u128::from_be_bytes(*origin),
            sender,
            payload,
            event,
        })
    }
}

/// Carries topics between instances. Calls come from the hub and must not block: queue the work.
pub trait Broker: Send + Sync + 'static {
    /// Called once, when the broker is installed on a hub: deliver what other instances publish
    /// through `inbox`.
    fn start(&self, inbox: Inbox);
    /// A topic got its first local subscriber: start receiving it.
    fn subscribe(&self, topic: &str);
    /// A topic lost its last local subscriber: stop receiving it.
    fn unsubscribe(&self, topic: &str);
    /// A local publish, for the other instances.
    fn publish(&self, topic: &str, envelope: Envelope);

    /// Whether the broker keeps retained topics' history, shared by every instance (Redis
    /// Streams). Then a retained topic's message goes to [`Broker::append`] instead of
    /// [`Broker::publish`], every instance (the publishing one too) delivers it when the broker
    /// hands it back with its offset ([`Inbox::deliver_at`]), and a resume that an instance cannot
    /// serve from what it holds asks [`Broker::replay`].
    fn keeps_history(&self) -> bool {
        false
    }

    /// A message of a retained topic, for its shared history (keeping about `capacity`
    /// messages): append it, number it, and deliver it to every instance through
    /// [`Inbox::deliver_at`], in the history's order. One the broker cannot append (it is down)
    /// goes back through [`Inbox::undelivered`], so this instance's subscribers still get it.
    fn append(&self, topic: &str, envelope: Envelope, capacity: usize) {
        let _ = capacity;
        self.publish(topic, envelope);
    }

    /// Reads a retained topic's shared history for a resume, and answers `replay` (within a
    /// bounded time: the subscriber waits for it).
    fn replay(&self, replay: Replay) {
        replay.fail();
    }

    /// Whether the broker shares presence across instances ([`Hub::track_presence`]): then the
    /// hub hands it every join and leave ([`Broker::presence`]) and asks it who is there
    /// ([`Broker::presence_query`]). Without it, presence covers this instance.
    ///
    /// [`Hub::track_presence`]: crate::Hub::track_presence
    fn shares_presence(&self) -> bool {
        false
    }

    /// A member joined or left a tracked topic here (this instance's subscribers have its event
    /// already): record it in the shared view and publish its event to the other instances, in
    /// order with the topic's messages. Keeping the shared view fresh (refreshing this
    /// instance's members, removing those of an instance that stopped) is the broker's.
    fn presence(&self, change: PresenceChange) {
        let _ = change;
    }

    /// Answers who is on a topic across instances, within a bounded time.
    fn presence_query(&self, query: PresenceQuery) {
        query.fail();
    }

    /// Resolves once what the hub handed the broker before this call has gone out (or the broker
    /// gave up on it: Redis down), so a stopping instance's last leaves and messages reach the
    /// other instances ([`Hub::flush`](crate::Hub::flush)).
    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}

/// A resume's question to a broker that keeps history ([`Broker::replay`]): what `topic` holds
/// after `after` (everything it holds when `after` is `None`), at most `limit` messages, the
/// newest ones when there are more. Dropped unanswered, it counts as failed.
pub struct Replay {
    topic: String,
    after: Option<Offset>,
    limit: usize,
    reply: Reply<Backlog>,
}

/// What a broker's history held for a [`Replay`].
#[derive(Debug, Default)]
pub struct Backlog {
    /// The messages after the offset, oldest first, with their offsets.
    pub messages: Vec<(Offset, Envelope)>,
    /// Some messages that followed the offset are gone (trimmed, or expired).
    pub missed: bool,
}

impl Replay {
    pub(crate) fn new(
        topic: &str,
        after: Option<Offset>,
        limit: usize,
        answer: impl FnOnce(Option<Backlog>) + Send + 'static,
    ) -> Replay {
        Replay {
            topic: topic.to_owned(),
            after,
            limit,
            reply: Reply::new(answer),
        }
    }

    /// The topic whose history is asked for.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The offset the client saw last; `None` asks for everything there is.
    pub fn after(&self) -> Option<Offset> {
        self.after
    }

    /// At most this many messages (the newest, when there are more).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Answers with what the history holds.
    pub fn answer(mut self, backlog: Backlog) {
        self.reply.send(Some(backlog));
    }

    /// The history could not be read: the subscriber is told of a gap and goes on live.
    pub fn fail(mut self) {
        self.reply.send(None);
    }
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("topic", &self.topic)
            .field("after", &self.after)
            .field("limit", &self.limit)
            .finish()
    }
}

/// The hub's side of a broker: where messages from other instances go.
pub(crate) trait Deliver: Send + Sync {
    /// Delivers to this instance's subscribers of `topic`.
    fn deliver(&self, topic: &str, payload: Payload, event: Option<Arc<str>>);
    /// Delivers a message of a retained topic's shared history, with its offset there; `own`
    /// when this instance published it, so its publishing peer (the envelope's sender) is not
    /// sent its own message.
    fn deliver_at(&self, topic: &str, offset: Offset, envelope: Envelope, own: bool);
    /// Delivers, here only, a retained topic's message the broker could not take.
    fn undelivered(&self, topic: &str, envelope: Envelope);
    /// Whether `topic` is retained (its history is the broker's).
    fn is_retained(&self, topic: &str) -> bool;
    /// The topics with local subscribers.
    fn topics(&self) -> Vec<String>;
    /// Each tracked topic with local members, and those members (id, info as JSON).
    fn presence_here(&self) -> Vec<MembersHere>;
}

/// Where a broker delivers messages from other instances.
#[derive(Clone)]
pub struct Inbox {
    hub: Weak<dyn Deliver>,
    instance: u128,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("instance", &self.instance)
            .field("hub_alive", &(self.hub.strong_count() > 0))
            .finish()
    }
}

impl Inbox {
    pub(crate) fn new(hub: Weak<dyn Deliver>, instance: u128) -> Inbox {
        Inbox { hub, instance }
    }

    /// Delivers to this instance's subscribers of `topic`, unless it came from this instance.
    /// Returns whether the hub is still alive (a broker task may stop when it is not).
    pub fn deliver(&self, topic: &str, envelope: Envelope) -> bool {
        let Some(hub) = self.hub.upgrade() else {
            return false;
        };
        if envelope.origin != self.instance {
            hub.deliver(topic, envelope.payload, envelope.event);
        }
        true
    }

    /// Delivers a message of a retained topic's shared history with its `offset` there, to this
    /// instance's subscribers (this instance's publisher excepted). Returns whether the hub is
    /// still alive.
    pub fn deliver_at(&self, topic: &str, offset: Offset, envelope: Envelope) -> bool {
        let Some(hub) = self.hub.upgrade() else {
            return false;
        };
        let own = envelope.origin == self.instance;
        hub.deliver_at(topic, offset, envelope, own);
        true
    }

    /// A retained topic's message the broker could not append (it is down): delivered to this
    /// instance's subscribers only, without an offset.
    pub fn undelivered(&self, topic: &str, envelope: Envelope) {
        if let Some(hub) = self.hub.upgrade() {
            hub.undelivered(topic, envelope);
        }
    }

    /// Whether `topic` is retained: after a reconnect, a broker that keeps history delivers
    /// what such a topic's history got meanwhile (from the last message it delivered), so live
    /// subscribers miss nothing.
    pub fn is_retained(&self, topic: &str) -> bool {
        self.hub.upgrade().is_some_and(|hub| hub.is_retained(topic))
    }

    /// This instance's id, which it puts in what it publishes.
    pub fn instance(&self) -> u128 {
        self.instance
    }

    /// The topics this instance has local subscribers for (to resubscribe after a reconnect).
    pub fn topics(&self) -> Vec<String> {
        match self.hub.upgrade() {
            Some(hub) => hub.topics(),
            None => Vec::new(),
        }
    }

    /// Each tracked topic with members here, and those members (id, info as JSON): what a broker
    /// that shares presence refreshes.
    pub fn presence_here(&self) -> Vec<MembersHere> {
        match self.hub.upgrade() {
            Some(hub) => hub.presence_here(),
            None => Vec::new(),
        }
    }
}

/// A random id for this hub's instance: distinct across processes and restarts.
pub(crate) fn instance_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut high = std::collections::hash_map::RandomState::new().build_hasher();
    high.write_u32(std::process::id());
    let mut low = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    low.write_u128(now);
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}

#[cfg(feature = "redis")]
pub mod redis;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn envelopes_round_trip_text_and_binary_unchanged() {
        for payload in [
            Payload::text("hello é"),
            Payload::text(""),
            Payload::binary(vec![0u8, 255, 1, 2]),
            Payload::binary(Vec::new()),
        ] {
            for event in [None, Some(Arc::from("added"))] {
                let envelope = Envelope::new(u128::MAX - 7, payload.clone(), event);
                assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
            }
        }
        // Version 1, from an instance not yet upgraded: no event name.
        let mut v1 = vec![1u8, 0];
        v1.extend_from_slice(&7u128.to_be_bytes());
        v1.extend_from_slice(b"old");
        assert_eq!(
            Envelope::decode(&v1),
            Some(Envelope::new(7, Payload::text("old"), None))
        );
        // An empty event name is none: an event stream's default `message`.
        let unnamed = Envelope::new(1, Payload::text("x"), Some(Arc::from("")));
        assert_eq!(
            Envelope::decode(&unnamed.encode()),
            Some(Envelope::new(1, Payload::text("x"), None))
        );
        assert_eq!(Envelope::decode(b"short"), None);
        assert_eq!(Envelope::decode(&[2, 0, 0]), None);
        let mut not_utf8 = Envelope::new(1, Payload::binary(vec![0xff]), None).encode();
        not_utf8[1] = 0; // claims text
        assert_eq!(Envelope::decode(&not_utf8), None, "text must be UTF-8");
    }

    /// Any envelope an instance sends: text or binary, from a peer or from the server (sender
    /// 0), with or without an event name. An empty event name is none (an event stream's default
    /// `message`), so the names here have a character at least.
    fn envelopes() -> impl Strategy<Value = Envelope> {
        let payload = prop_oneof![
            ".{0,40}".prop_map(Payload::text),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Payload::binary),
        ];
        let sender = prop_oneof![Just(0), any::<u64>()];
        let event = proptest::option::of(".{1,20}");
        (any::<u128>(), sender, payload, event).prop_map(|(origin, sender, payload, event)| {
            Envelope::new(origin, payload, event.map(Arc::from)).with_sender(sender)
        })
    }

    /// A version 1 envelope, as an instance not yet upgraded sends it: no sender, no event.
    fn version_1(origin: u128, payload: &Payload) -> Vec<u8> {
        let mut bytes = vec![1u8, u8::from(payload.is_binary())];
        bytes.extend_from_slice(&origin.to_be_bytes());
        bytes.extend_from_slice(payload.as_bytes());
        bytes
    }

    proptest::proptest! {
        /// Every envelope comes back whole, its sender and event name included, and its bytes
        /// are what it encodes to again.
        #[test]
        fn every_envelope_round_trips(envelope in envelopes()) {
            let bytes = envelope.encode();
            let decoded = Envelope::decode(&bytes);
            prop_assert_eq!(decoded.as_ref(), Some(&envelope));
            prop_assert_eq!(decoded.map(|d| d.encode()), Some(bytes));
        }

        /// An envelope from an instance still on version 1 reads as a server-side publish without
        /// an event name, and is re-encoded in the current version.
        #[test]
        fn a_version_1_envelope_reads_as_one_without_sender_or_event(envelope in envelopes()) {
            let (origin, _, payload, _) = envelope.into_parts();
            let decoded = Envelope::decode(&version_1(origin, &payload));
            let expected = Envelope::new(origin, payload, None);
            prop_assert_eq!(decoded.as_ref(), Some(&expected));
            let again = decoded.map(|d| d.encode());
            prop_assert_eq!(again.as_ref().map(|b| b[0]), Some(VERSION));
            prop_assert_eq!(again.and_then(|b| Envelope::decode(&b)), Some(expected));
        }

        /// An envelope cut short or with a byte changed (the header's lengths, kinds and versions
        /// included) decodes to an envelope or to `None`, never a panic; what it decodes to
        /// round-trips.
        #[test]
        fn a_cut_or_altered_envelope_decodes_without_panic(
            envelope in envelopes(),
            cut in any::<proptest::sample::Index>(),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let bytes = envelope.encode();
            let mut altered = bytes.clone();
            let at = at.index(altered.len());
            altered[at] = byte;
            for bytes in [&bytes[..cut.index(bytes.len() + 1)], &altered[..]] {
                if let Some(decoded) = Envelope::decode(bytes) {
                    prop_assert_eq!(Envelope::decode(&decoded.encode()), Some(decoded));
                }
            }
        }

        /// Whatever arrives on a broker channel decodes to an envelope or to `None`, never a
        /// panic.
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(decoded) = Envelope::decode(&bytes) {
                prop_assert_eq!(Envelope::decode(&decoded.encode()), Some(decoded));
            }
        }
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
    }
}
