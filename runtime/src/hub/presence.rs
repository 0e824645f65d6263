//! Presence on this instance ([`Hub::track_presence`](super::Hub::track_presence)): which topics
//! are tracked, each tracked topic's local members with their info, and their joins and leaves,
//! handed on one at a time in the order they happened.
//!
//! What it holds is one entry per local member of a tracked topic (a subscriber that leaves takes
//! its entry with it), and the changes not yet handed on, which are handed on before the call that
//! made the first of them returns.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::retention::Pattern;
use super::subscriber::SubscriberId;
use crate::broker::MembersHere;
use crate::presence::{Change, Member, Members, Page};

/// A member joined or left a tracked topic here.
#[derive(Clone, Debug)]
pub(crate) struct Changed {
    pub(crate) topic: Arc<str>,
    pub(crate) change: Change,
    pub(crate) member: String,
    /// JSON.
    pub(crate) info: Arc<str>,
}

/// This instance's side of presence.
pub(crate) struct Tracking {
    patterns: RwLock<Vec<Pattern>>,
    /// What member ids start with: this instance's tag, so ids are unique across instances.
    tag: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each tracked topic with local members: member id -> info (JSON), by id (the pages' order).
    topics: HashMap<Arc<str>, BTreeMap<String, Arc<str>>>,
    /// Changes not yet handed on, oldest first.
    queue: VecDeque<Changed>,
    /// A call is handing the queue on: others leave theirs to it.
    draining: bool,
}

impl Tracking {
    pub(crate) fn new(instance: u128) -> Tracking {
        Tracking {
            patterns: RwLock::default(),
            tag: format!("{:012x}", instance >> 80),
            state: Mutex::default(),
        }
    }

    /// Tracks the topics `pattern` names (`room:*`: every topic that starts with `room:`).
    pub(crate) fn track(&self, pattern: &str) {
        let pattern = Pattern::new(pattern);
        let mut patterns = self.patterns.write().unwrap_or_else(|p| p.into_inner());
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }

    pub(crate) fn tracks(&self, topic: &str) -> bool {
        let patterns = self.patterns.read().unwrap_or_else(|p| p.into_inner());
        patterns.iter().any(|pattern| pattern.matches(topic))
    }

    /// The member id of subscriber `id` of this instance.
    pub(crate) fn member_id(&self, id: SubscriberId) -> String {
        format!("{}-{}", self.tag, id.get())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscriber `id` joins `topic` with `info` (JSON); `None` if it is a member already.
    pub(crate) fn join(&self, topic: &str, id: SubscriberId, info: Arc<str>) -> Option<Changed> {
        let member = self.member_id(id);
        let mut state = self.lock();
        let topic = state
            .topics
            .get_key_value(topic)
            .map_or_else(|| Arc::from(topic), |(name, _)| name.clone());
        let members = state.topics.entry(topic.clone()).or_default();
        if members.contains_key(&member) {
            return None;
        }
        members.insert(member.clone(), info.clone());
        Some(Changed {
            topic,
            change: Change::Join,
            member,
            info,
        })
    }

    /// Subscriber `id` leaves `topic`; `None` if it was no member.
    pub(crate) fn leave(&self, topic: &str, id: SubscriberId) -> Option<Changed> {
        let member = self.member_id(id);
        let mut state = self.lock();
        let (name, _) = state.topics.get_key_value(topic)?;
        let name = name.clone();
        let members = state.topics.get_mut(&name)?;
        let info = members.remove(&member)?;
        if members.is_empty() {
            state.topics.remove(&name);
        }
        Some(Changed {
            topic: name,
            change: Change::Leave,
            member,
            info,
        })
    }

    /// Queues `changed` and hands the queue on through `hand_on`, oldest first, unless another
    /// call is at it (then that call hands this one on too, before it returns). `hand_on` runs
    /// without the lock: what it calls may join or leave again.
    pub(crate) fn changed(&self, changed: Changed, mut hand_on: impl FnMut(Changed)) {
        let mut state = self.lock();
        state.queue.push_back(changed);
        if state.draining {
            return;
        }
        state.draining = true;
        drop(state);
        let draining = Draining(self);
        loop {
            let Some(next) = draining.0.lock().queue.pop_front() else {
                break;
            };
            hand_on(next);
        }
        // `Draining`'s drop clears the flag, also after a panic in `hand_on`.
        drop(draining);
    }

    /// How many members `topic` has here.
    pub(crate) fn count(&self, topic: &str) -> usize {
        self.lock().topics.get(topic).map_or(0, BTreeMap::len)
    }

    /// A page of `topic`'s members here, by id; the cursor is the last id of the page before.
    pub(crate) fn page(&self, topic: &str, page: &Page) -> Members {
        let state = self.lock();
        let Some(members) = state.topics.get(topic) else {
            return Members::default();
        };
        let from = match page.cursor() {
            Some(after) => std::ops::Bound::Excluded(after.to_owned()),
            None => std::ops::Bound::Unbounded,
        };
        let mut found: Vec<Member> = members
            .range((from, std::ops::Bound::Unbounded))
            .take(page.limit() + 1)
            .map(|(id, info)| Member {
                id: id.clone(),
                info: serde_json::from_str(info).unwrap_or_default(),
            })
            .collect();
        let next = if found.len() > page.limit() {
            found.truncate(page.limit());
            found.last().map(|m| m.id.clone())
        } else {
            None
        };
        Members {
            members: found,
            next,
            everywhere: false,
        }
    }

    /// Every tracked topic with local members, and those members (id, info): what a broker
    /// refreshes in its shared view.
    pub(crate) fn here(&self) -> Vec<MembersHere> {
        let state = self.lock();
        state
            .topics
            .iter()
            .map(|(topic, members)| MembersHere {
                topic: topic.to_string(),
                members: members
                    .iter()
                    .map(|(id, info)| (id.clone(), info.clone()))
                    .collect(),
            })
            .collect()
    }
}

/// Clears the draining flag when the drain ends, however it ends.
struct Draining<'a>(&'a Tracking);

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.draining = false;
        // A panic left changes queued: they are dropped with it rather than held forever.
        if std::thread::panicking() {
            state.queue.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> SubscriberId {
        SubscriberId::from_raw(n)
    }

    #[test]
    fn joins_once_leaves_once_and_forgets_an_empty_topic() {
        let tracking = Tracking::new(u128::MAX);
        tracking.track("room:*");
        assert!(tracking.tracks("room:1"));
        assert!(!tracking.tracks("lobby"));
        let info: Arc<str> = Arc::from("null");
        assert!(tracking.join("room:1", id(1), info.clone()).is_some());
        assert!(
            tracking.join("room:1", id(1), info.clone()).is_none(),
            "once"
        );
        assert!(tracking.join("room:1", id(2), info.clone()).is_some());
        assert_eq!(tracking.count("room:1"), 2);
        assert!(tracking.leave("room:1", id(1)).is_some());
        assert!(tracking.leave("room:1", id(1)).is_none(), "once");
        assert!(tracking.leave("room:1", id(2)).is_some());
        assert_eq!(tracking.count("room:1"), 0);
        assert!(
            tracking.here().is_empty(),
            "nothing kept for an empty topic"
        );
    }

    #[test]
    fn pages_walk_every_member_once() {
        let tracking = Tracking::new(1);
        for n in 0..25 {
            tracking.join("t", id(n), Arc::from(format!("{n}")));
        }
        let mut seen = Vec::new();
        let mut page = Page::first(10);
        loop {
            let members = tracking.page("t", &page);
            assert!(members.members.len() <= 10);
            seen.extend(members.members.into_iter().map(|m| m.id));
            match members.next {
                Some(next) => page = Page::after(next, 10),
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..25).map(|n| tracking.member_id(id(n))).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_change_made_while_handing_on_is_handed_on_after_in_order() {
        let tracking = Tracking::new(1);
        let first = tracking.join("t", id(1), Arc::from("1")).unwrap();
        let mut handed = Vec::new();
        tracking.changed(first, |changed| {
            handed.push(changed.member.clone());
            if changed.change == Change::Join {
                // What a subscriber dropped by this publish does: it leaves at once.
                let left = tracking.leave("t", id(1)).unwrap();
                tracking.changed(left, |_| unreachable!("queued for the running drain"));
            }
        });
        let member = tracking.member_id(id(1));
        assert_eq!(handed, [member.clone(), member]);
    }
}
