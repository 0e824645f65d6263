//! Sharing topics across server processes. A [`Hub`](crate::Hub) delivers in-process by default;
//! with a [`Broker`] it also hands every local publish to the broker and delivers what other
//! instances publish. `redis::RedisBroker` (cargo feature `redis`) is the implementation.
//!
//! The semantics match one process: a peer's publish reaches every subscriber on every instance
//! except the publisher; a server-side publish reaches every subscriber once; messages from one
//! publisher on one topic arrive in order. Local delivery never waits for the broker.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use crate::payload::Payload;

/// A message as it crosses between instances: the publishing instance and the payload. A broker
/// carries it as the bytes of [`Envelope::encode`] and hands what it receives to
/// [`Inbox::deliver`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// An instance ignores its own messages (it delivered them locally).
    origin: u128,
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
            payload,
            event,
        }
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

    /// `[2][0 text | 1 binary][origin: 16 bytes big-endian][event length: 2 bytes][event][payload]`.
    pub fn encode(&self) -> Vec<u8> {
        let bytes = self.payload.as_bytes();
        let event = self.event.as_deref().unwrap_or_default().as_bytes();
        let event = &event[..event.len().min(usize::from(u16::MAX))];
        let mut out = Vec::with_capacity(20 + event.len() + bytes.len());
        out.push(VERSION);
        out.push(u8::from(self.payload.is_binary()));
        out.extend_from_slice(&self.origin.to_be_bytes());
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
        let (event, payload) = match version {
            1 => (None, rest),
            2 => {
                let (length, rest) = rest.split_first_chunk::<2>()?;
                let length = usize::from(u16::from_be_bytes(*length));
                let event = rest.get(..length)?;
                let event = std::str::from_utf8(event).ok()?;
                let event = (!event.is_empty()).then(|| Arc::from(event));
                (event, &rest[length..])
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
}

/// The hub's side of a broker: where messages from other instances go.
pub(crate) trait Deliver: Send + Sync {
    /// Delivers to this instance's subscribers of `topic`.
    fn deliver(&self, topic: &str, payload: Payload, event: Option<Arc<str>>);
    /// The topics with local subscribers.
    fn topics(&self) -> Vec<String>;
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

    /// The topics this instance has local subscribers for (to resubscribe after a reconnect).
    pub fn topics(&self) -> Vec<String> {
        match self.hub.upgrade() {
            Some(hub) => hub.topics(),
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
    use super::*;

    fn payload(binary: bool, bytes: Vec<u8>) -> Payload {
        if binary {
            Payload::binary(bytes)
        } else {
            Payload::text(String::from_utf8_lossy(&bytes).into_owned())
        }
    }

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
        assert_eq!(Envelope::decode(b"short"), None);
        assert_eq!(Envelope::decode(&[2, 0, 0]), None);
        let mut not_utf8 = Envelope::new(1, Payload::binary(vec![0xff]), None).encode();
        not_utf8[1] = 0; // claims text
        assert_eq!(Envelope::decode(&not_utf8), None, "text must be UTF-8");
    }

    proptest::proptest! {
        /// Whatever arrives on a broker channel decodes to an envelope or to `None`, never a
        /// panic; and every envelope survives the round trip.
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Some(envelope) = Envelope::decode(&bytes) {
                proptest::prop_assert_eq!(envelope.encode(), bytes);
            }
        }

        #[test]
        fn every_envelope_round_trips(
            origin in proptest::num::u128::ANY,
            binary in proptest::bool::ANY,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let envelope = Envelope::new(origin, payload(binary, bytes), None);
            proptest::prop_assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
        }
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
    }
}
