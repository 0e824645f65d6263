//! A topic's members, and the walk that offers each new entry to them.
//!
//! Members live in chunks of at most [`CHUNK`], each chunk behind a lock of its own, and an index
//! says which chunk holds whom. Joining takes a free place in a chunk and leaving gives one back:
//! the same cost in a room of 100,000 as in a room of 10, and no copy of the member list. A
//! publish walks the chunks one at a time, so a join or a leave waits for at most one chunk's
//! walk, never for a whole room's.
//!
//! The index and the list of chunks change under the topic's lock (which a publish holds only to
//! link its entry); a chunk's members change under the chunk's own lock as well, which is all a
//! walk takes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::entry::Entry;
use super::subscriber::{Offer, Subscriber, SubscriberId};
use super::subscription::Subscription;

/// Members per chunk: a walk holds one chunk's lock while it offers an entry to this many.
const CHUNK: usize = 256;

/// One member: the subscriber and its subscription.
pub(crate) struct Member {
    id: SubscriberId,
    subscriber: Arc<dyn Subscriber>,
    subscription: Arc<Subscription>,
}

impl Member {
    pub(crate) fn new(subscriber: Arc<dyn Subscriber>, subscription: Arc<Subscription>) -> Member {
        Member {
            id: subscriber.id(),
            subscriber,
            subscription,
        }
    }

    pub(crate) fn subscriber(&self) -> &Arc<dyn Subscriber> {
        &self.subscriber
    }

    pub(crate) fn subscription(&self) -> &Arc<Subscription> {
        &self.subscription
    }
}

#[derive(Default)]
struct Chunk {
    members: Mutex<Vec<Member>>,
}

impl Chunk {
    fn lock(&self) -> MutexGuard<'_, Vec<Member>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The members of one topic.
#[derive(Default)]
pub(crate) struct Roster {
    /// Shared with walks in progress; copied only when a chunk is added (once per [`CHUNK`]
    /// joins), never per member.
    chunks: Arc<Vec<Arc<Chunk>>>,
    /// Which chunk holds each member. A B-tree, not a hash table: a hash table grows by moving
    /// every entry at once, which in a room of a million would hold the topic's lock for tens of
    /// milliseconds; a B-tree grows a node at a time.
    index: BTreeMap<SubscriberId, u32>,
    /// Chunks with a free place.
    open: Vec<u32>,
    /// Members a walk refused, listed until they leave.
    refused: Arc<AtomicUsize>,
}

impl Roster {
    /// How many members take entries.
    pub(crate) fn len(&self) -> usize {
        self.index
            .len()
            .saturating_sub(self.refused.load(Ordering::Acquire))
    }

    /// The subscription of member `id`, if it is one.
    pub(crate) fn get(&self, id: SubscriberId) -> Option<Arc<Subscription>> {
        let chunk = &self.chunks[*self.index.get(&id)? as usize];
        let members = chunk.lock();
        let member = members.iter().find(|m| m.id == id)?;
        Some(member.subscription.clone())
    }

    pub(crate) fn insert(&mut self, member: Member) {
        let id = member.id;
        let at = loop {
            let Some(&at) = self.open.last() else {
                let chunks = Arc::make_mut(&mut self.chunks);
                chunks.push(Arc::default());
                let at = u32::try_from(chunks.len() - 1).expect("fewer than 2^32 chunks");
                self.open.push(at);
                continue;
            };
            let mut members = self.chunks[at as usize].lock();
            if members.len() >= CHUNK {
                self.open.pop(); // full (cannot happen: chunks leave the list when they fill)
                continue;
            }
            members.push(member);
            if members.len() == CHUNK {
                self.open.pop();
            }
            break at;
        };
        self.index.insert(id, at);
    }

    /// Takes member `id` out; `None` when it is not one.
    pub(crate) fn remove(&mut self, id: SubscriberId) -> Option<Member> {
        let at = self.index.remove(&id)?;
        let mut members = self.chunks[at as usize].lock();
        let place = members.iter().position(|m| m.id == id)?;
        let was_full = members.len() == CHUNK;
        let member = members.swap_remove(place);
        if members.is_empty() {
            *members = Vec::new(); // an emptied chunk holds no memory
        }
        drop(members);
        if was_full {
            self.open.push(at);
        }
        if member.subscription.is_refused() {
            self.refused.fetch_sub(1, Ordering::AcqRel);
        }
        Some(member)
    }

    /// What a publish walks: the chunks as they are now (members that join later are not for
    /// the entries linked before).
    pub(crate) fn walk(&self) -> Walk {
        Walk {
            chunks: self.chunks.clone(),
            refused: self.refused.clone(),
        }
    }
}

/// A publish's view of the members.
pub(crate) struct Walk {
    chunks: Arc<Vec<Arc<Chunk>>>,
    refused: Arc<AtomicUsize>,
}

impl Walk {
    /// Offers `entry` to every member it is for but its publisher, a chunk at a time; tells each
    /// one that takes it and was not told already that it has something to read. Returns how
    /// many took it; the members that refused it are added to `dropped`, to be told once no lock
    /// is held.
    pub(crate) fn offer(&self, entry: &Entry, dropped: &mut Vec<Arc<dyn Subscriber>>) -> usize {
        let mut taken = 0;
        for chunk in self.chunks.iter() {
            let members = chunk.lock();
            for member in members.iter() {
                let subscription = &member.subscription;
                if !subscription.covers(entry.seq) {
                    continue;
                }
                if entry.origin == Some(member.id) {
                    // Nothing to count, but the claims go on; and its cursor must move past
                    // the entry, or, parked before it, it would keep the log from there alive.
                    subscription.claim(entry.seq);
                    if subscription.notify() {
                        member.subscriber.ready(subscription.key());
                    }
                    continue;
                }
                match member.subscriber.offer(entry) {
                    Offer::Taken if subscription.claim(entry.seq) => {
                        taken += 1;
                        if subscription.notify() {
                            member.subscriber.ready(subscription.key());
                        }
                    }
                    // Its cursor read the entry first and counted it then.
                    Offer::Taken => {
                        member.subscriber.withdraw(entry);
                        taken += 1;
                    }
                    Offer::Refused => {
                        if subscription.refuse(entry.seq) {
                            self.refused.fetch_add(1, Ordering::AcqRel);
                            dropped.push(member.subscriber.clone());
                        }
                    }
                }
            }
        }
        taken
    }
}
