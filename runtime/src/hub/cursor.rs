//! [`Cursor`]: a subscriber's place in one topic's log.
//!
//! A cursor reads on from the entry it is at. A resume on a retained topic starts it in the
//! history (or with a replay fetched from the broker's), so the replay and what is published
//! meanwhile are one sequence, with no seam to lose or double a message in.
//!
//! What the cursor moves past is counted off what its subscriber owes: a replayed entry was
//! counted when the subscription began; a live one when a publish offered it, unless the cursor
//! got to it first (see [`Subscription`]). The reader takes what was counted off with
//! [`Cursor::take_released`].

use std::collections::VecDeque;
use std::sync::Arc;

use super::entry::Entry;
use super::subscriber::{Owed, SubscriberId};
use super::subscription::{Subscription, SubscriptionKey};
use crate::offset::Offset;

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
pub(crate) enum Link {
    At(Arc<Entry>),
    After(Arc<Entry>),
}

/// A subscriber's place in a topic's log, and what it shares with the topic's roster.
pub(crate) struct Cursor {
    topic: Arc<str>,
    subscription: Arc<Subscription>,
    /// When the subscription began: what it replays was made earlier, but comes after what the
    /// subscriber was sent before it subscribed.
    since: u64,
    place: Place,
    /// Entries by this subscriber are skipped.
    own: SubscriberId,
    /// What a resume says first: boxed, so that a live subscription (most) does not carry it.
    resume: Option<Box<Resumed>>,
    /// What the entries it moved past had counted against the subscriber.
    released: Owed,
}

/// What a resuming cursor says before the log, and what of the log it skips.
struct Resumed {
    gap: Option<Gap>,
    /// A replay fetched from the broker's history, read before the log.
    fetched: VecDeque<Arc<Entry>>,
    /// Entries of the log at or before this offset were in `fetched`: skipped.
    fetched_through: Option<Offset>,
    /// The fetched entry read last, lent to the reader until the cursor reads on.
    read: Option<Arc<Entry>>,
}

/// Where a cursor is in the log: at an entry it has yet to read, or past one it has read. One
/// `Arc` moves along the chain; reading the entry it holds flips a flag, not a reference count
/// the topic's other readers write too.
struct Place {
    entry: Arc<Entry>,
    read: bool,
}

impl From<Link> for Place {
    fn from(link: Link) -> Place {
        match link {
            Link::At(entry) => Place { entry, read: false },
            Link::After(entry) => Place { entry, read: true },
        }
    }
}

/// Where a new cursor starts, and what it says first.
pub(crate) struct Start {
    pub(crate) link: Link,
    pub(crate) gap: Option<Gap>,
    pub(crate) fetched: VecDeque<Arc<Entry>>,
}

impl Cursor {
    pub(crate) fn new(
        topic: Arc<str>,
        subscription: Arc<Subscription>,
        own: SubscriberId,
        since: u64,
        start: Start,
    ) -> Cursor {
        let resume = (start.gap.is_some() || !start.fetched.is_empty()).then(|| {
            Box::new(Resumed {
                fetched_through: start.fetched.back().and_then(|e| e.offset),
                gap: start.gap,
                fetched: start.fetched,
                read: None,
            })
        });
        Cursor {
            topic,
            subscription,
            since,
            place: start.link.into(),
            own,
            resume,
            released: Owed::default(),
        }
    }

    /// The topic it reads.
    pub(crate) fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// Its subscription's key.
    pub(crate) fn key(&self) -> SubscriptionKey {
        self.subscription.key()
    }

    /// A gap to report before anything else, once.
    pub(crate) fn take_gap(&mut self) -> Option<Gap> {
        self.resume.as_mut()?.gap.take()
    }

    fn has_gap(&self) -> bool {
        self.resume.as_ref().is_some_and(|r| r.gap.is_some())
    }

    /// The fetched replay still to read.
    fn fetched(&mut self) -> Option<&mut VecDeque<Arc<Entry>>> {
        self.resume
            .as_mut()
            .map(|r| &mut r.fetched)
            .filter(|f| !f.is_empty())
    }

    /// What the entries it moved past since last asked had counted: the reader lets go of it.
    pub(crate) fn take_released(&mut self) -> Owed {
        std::mem::take(&mut self.released)
    }

    /// Where the next thing this cursor says goes among the subscriber's other sources (its own
    /// queue, its other topics): a gap or a replayed entry when the subscription began, a live
    /// entry when it was published. `None` when there is nothing yet.
    pub(crate) fn next_stamp(&mut self) -> Option<u64> {
        if self.has_gap() {
            return Some(self.since);
        }
        let since = self.since;
        self.peek().map(|entry| entry.stamp.max(since))
    }

    /// The next entry for this subscriber, without moving; `None` when there is none yet.
    /// Skips the subscriber's own entries (a resume can start at one, published just before it
    /// subscribed), and those a fetched replay held already.
    pub(crate) fn peek(&mut self) -> Option<&Arc<Entry>> {
        if self.fetched().is_some() {
            return self.fetched()?.front();
        }
        // `until` is lowered before an entry past it is linked, so it is seen here in time.
        let until = self.subscription.until();
        loop {
            if self.place.read {
                let next = self.place.entry.next()?.clone();
                self.place = Place {
                    entry: next,
                    read: false,
                };
            }
            let entry = &self.place.entry;
            if entry.seq >= until {
                return None;
            }
            let own = entry.origin == Some(self.own);
            let through = self.resume.as_ref().and_then(|r| r.fetched_through);
            let replayed = matches!((entry.offset, through), (Some(offset), Some(through)) if offset <= through);
            if !own && !replayed {
                return Some(&self.place.entry);
            }
            self.pass(own);
        }
    }

    /// Moves past the entry [`Cursor::peek`] returned, and lends it, with the topic, until the
    /// cursor moves again.
    pub(crate) fn advance(&mut self) -> (&Arc<str>, &Arc<Entry>) {
        if self.fetched().is_some() {
            let resume = self
                .resume
                .as_mut()
                .expect("a fetched replay is kept in `resume`");
            let entry = resume.fetched.pop_front().expect("checked just above");
            self.released.add(Owed::of(&entry));
            return (&self.topic, resume.read.insert(entry));
        }
        assert!(
            !self.place.read,
            "advance follows a peek that found an entry"
        );
        if let Some(resume) = &mut self.resume {
            resume.read = None; // the replay is read: its last entry need not stay
        }
        self.pass(false);
        (&self.topic, &self.place.entry)
    }

    /// Moves past the entry it is at, counting off what that releases: a replayed entry was
    /// counted when the subscription began (unless it was the subscriber's own); a live one by
    /// the publish that claimed it, unless this cursor claims it first (then nobody counted it).
    fn pass(&mut self, own: bool) {
        let entry = &self.place.entry;
        let counted = if entry.seq <= self.subscription.joined {
            !own
        } else {
            !self.subscription.claim(entry.seq) && !own
        };
        if counted {
            self.released.add(Owed::of(entry));
        }
        self.place.read = true;
    }

    /// Nothing to read now: from here on a publish tells the subscriber. `true` when something
    /// arrived meanwhile and the caller should read on (no publish will say so).
    pub(crate) fn park(&mut self) -> bool {
        let subscription = self.subscription.clone();
        subscription.park(|| self.next_stamp().is_some())
    }

    /// The subscription has ended and every entry it owed was read: the cursor can go.
    pub(crate) fn is_finished(&self) -> bool {
        let next = match self.place.read {
            false => self.place.entry.seq,
            true => self.place.entry.seq.saturating_add(1),
        };
        let said = self
            .resume
            .as_ref()
            .is_none_or(|r| r.gap.is_none() && r.fetched.is_empty());
        said && next >= self.subscription.until()
    }
}
