//! [`Counted`]: the hash for the hub's ids (subscribers, subscriptions), which are counted up
//! from one: multiplying by an odd constant spreads them over a table's buckets, for less than a
//! general-purpose hash costs. Nothing a client sends is hashed with it.

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`IdHasher`]s, for a `HashMap` keyed by a counted id.
pub(crate) type Counted = BuildHasherDefault<IdHasher>;

#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
