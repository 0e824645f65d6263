//! Sharing topics across server processes. A [`Hub`](crate::Hub) delivers in-process by default;
//! with a [`Broker`] it also hands every local publish to the broker and delivers what other
//! instances publish. `redis::RedisBroker` (cargo feature `redis`) is the implementation.
//!
//! The semantics match one process: a peer's publish reaches every subscriber on every instance
//! except the publisher; a server-side publish reaches every subscriber once; messages from one
//! publisher on one topic arrive in order. Local delivery never waits for the broker.

use std::sync::{Arc, Weak};

use crate::ws::WireMessage;
use bytes::Bytes;

/// A message as it crosses between instances: the payload and whether it is binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing instance; an instance ignores its own messages (it delivered them locally).
    pub origin: u128,
    pub binary: bool,
    pub payload: Bytes,
}

const VERSION: u8 = 1;

impl Envelope {
    /// `[version][0 text | 1 binary][origin: 16 bytes big-endian][payload]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.payload.len());
        out.push(VERSION);
        out.push(u8::from(self.binary));
        out.extend_from_slice(&self.origin.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// The inverse of [`Envelope::encode`]; `None` for anything else found on the channel.
    pub fn decode(bytes: &[u8]) -> Option<Envelope> {
        let (&[version, kind], rest) = bytes.split_first_chunk::<2>()?;
        let (origin, payload) = rest.split_first_chunk::<16>()?;
        if version != VERSION || kind > 1 {
            return None;
        }
        Some(Envelope {
            origin: u128::from_be_bytes(*origin),
            binary: kind == 1,
            payload: Bytes::copy_from_slice(payload),
        })
    }

    pub(crate) fn from_frame(origin: u128, frame: &WireMessage) -> Option<Envelope> {
        match frame {
            WireMessage::Text(text) => Some(Envelope {
                origin,
                binary: false,
                payload: Bytes::from(text.clone()),
            }),
            WireMessage::Binary(bytes) => Some(Envelope {
                origin,
                binary: true,
                payload: bytes.clone(),
            }),
            _ => None,
        }
    }

    pub(crate) fn into_frame(self) -> Option<WireMessage> {
        if self.binary {
            Some(WireMessage::Binary(self.payload))
        } else {
            tungstenite::Utf8Bytes::try_from(self.payload)
                .ok()
                .map(WireMessage::Text)
        }
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

/// Where a broker delivers messages from other instances.
#[derive(Clone, Debug)]
pub struct Inbox {
    pub(crate) hub: Weak<crate::hub::HubInner>,
    pub(crate) instance: u128,
}

impl Inbox {
    /// Delivers to this instance's subscribers of `topic`, unless it came from this instance.
    /// Returns whether the hub is still alive (a broker task may stop when it is not).
    pub fn deliver(&self, topic: &str, envelope: Envelope) -> bool {
        let Some(inner) = self.hub.upgrade() else {
            return false;
        };
        if envelope.origin == self.instance {
            return true;
        }
        if let Some(frame) = envelope.into_frame() {
            crate::hub::Hub {
                inner: Arc::clone(&inner),
            }
            .publish_remote(topic, &frame);
        } else {
            tracing::warn!(%topic, "nitrous: dropped a broker message whose text is not UTF-8");
        }
        true
    }

    /// The topics this instance has local subscribers for (to resubscribe after a reconnect).
    pub fn topics(&self) -> Vec<String> {
        match self.hub.upgrade() {
            Some(inner) => crate::hub::Hub { inner }.topics(),
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

    #[test]
    fn envelopes_round_trip_text_and_binary_unchanged() {
        for (binary, payload) in [
            (false, &b"hello \xc3\xa9"[..]),
            (true, &[0u8, 255, 1, 2][..]),
            (true, &[][..]),
        ] {
            let envelope = Envelope {
                origin: u128::MAX - 7,
                binary,
                payload: Bytes::copy_from_slice(payload),
            };
            assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
        }
        assert_eq!(Envelope::decode(b"short"), None);
        assert_eq!(Envelope::decode(&[2, 0, 0]), None);
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
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let envelope = Envelope { origin, binary, payload: Bytes::from(payload) };
            proptest::prop_assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
        }
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
    }
}
