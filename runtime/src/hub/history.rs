//! A retained topic's history: its last entries, each with an [`Offset`], who numbers them, and
//! where a resuming subscriber starts in them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cursor::{Gap, Link};
use super::entry::{Entry, entry_cost};
use super::subscriber::{Owed, Subscriber};
use crate::offset::{Offset, Resume};

/// A retained topic's last entries, for subscribers that resume.
pub(crate) struct History {
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

/// What numbering a message gets.
pub(crate) enum Numbered {
    /// This offset.
    At(Offset),
    /// None: the topic is not retained, or the broker could not take it (delivered here only).
    Unnumbered,
    /// The broker's message was delivered here already: dropped.
    Seen,
}

impl History {
    /// Keeps the last `capacity` entries; numbered here, or, `mirrored`, by the broker.
    pub(crate) fn new(capacity: usize, mirrored: bool) -> History {
        History {
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
        }
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.trim();
    }

    /// The offset of the next message: numbered here, or `given` by the broker.
    pub(crate) fn number(&mut self, given: Option<Offset>) -> Numbered {
        match (&mut self.numbering, given) {
            (Numbering::Here { epoch, next, .. }, _) => {
                let offset = Offset::new(*epoch, *next);
                *next += 1;
                Numbered::At(offset)
            }
            (Numbering::Broker { last }, Some(offset)) => {
                if last.is_some_and(|last| offset <= last) {
                    return Numbered::Seen;
                }
                *last = Some(offset);
                Numbered::At(offset)
            }
            (Numbering::Broker { .. }, None) => Numbered::Unnumbered,
        }
    }

    /// Keeps `entry` (numbered here) for resumes.
    pub(crate) fn keep(&mut self, entry: &Arc<Entry>) {
        if entry.offset.is_some() && matches!(self.numbering, Numbering::Here { .. }) {
            self.entries.push_back(entry.clone());
            self.trim();
        }
    }

    /// Drops the oldest entries past the capacity, remembering what is gone.
    fn trim(&mut self) {
        while self.entries.len() > self.capacity {
            let Some(gone) = self.entries.pop_front() else {
                break;
            };
            if let Numbering::Here { trimmed, .. } = &mut self.numbering {
                *trimmed = gone.offset;
            }
        }
    }

    /// Where a resuming subscriber starts, the gap to report, and what the replay owes; `None`
    /// when the broker's history must be read.
    pub(crate) fn plan(
        &self,
        tail: &Arc<Entry>,
        resume: Resume,
        subscriber: &dyn Subscriber,
    ) -> Option<(Link, Option<Gap>, Owed)> {
        let entries = &self.entries;
        let (mut from, mut gap) = match (&self.numbering, resume) {
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
        // The first entry the subscriber is given: its own are skipped.
        let resumed_at = entries
            .iter()
            .skip(from)
            .find(|e| e.origin != Some(subscriber.id()))
            .and_then(|e| e.offset);
        let gap = gap.map(|after| Gap { after, resumed_at });
        crate::telemetry::resumed(owed.entries, gap.is_some());
        let link = match entries.get(from) {
            Some(entry) => Link::At(entry.clone()),
            None => Link::After(tail.clone()),
        };
        Some((link, gap, owed))
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
