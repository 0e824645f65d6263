//! The topics a peer is subscribed to, in the order it subscribed: adding, finding and removing
//! one costs the same for a peer in 10,000 topics as for a peer in a few.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A peer's topics: a short list while there are few (nothing allocated before the first), an
/// index once there are many.
#[derive(Default)]
pub(crate) struct Topics {
    few: Vec<Arc<str>>,
    many: Option<Box<Many>>,
}

/// Past this many topics a peer's list becomes an index.
const FEW: usize = 16;

#[derive(Default)]
struct Many {
    /// Each topic, and when it was added.
    names: HashMap<Arc<str>, u64>,
    /// The topics by when they were added.
    order: BTreeMap<u64, Arc<str>>,
    added: u64,
}

impl Many {
    fn insert(&mut self, name: Arc<str>) -> bool {
        if self.names.contains_key(&name) {
            return false;
        }
        self.added += 1;
        self.names.insert(name.clone(), self.added);
        self.order.insert(self.added, name);
        true
    }
}

impl Topics {
    /// Adds `topic`; `false` when it is there already.
    pub(crate) fn insert(&mut self, topic: &str) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(Arc::from(topic));
        }
        if self.few.iter().any(|t| &**t == topic) {
            return false;
        }
        self.few.push(Arc::from(topic));
        if self.few.len() > FEW {
            let mut many = Box::<Many>::default();
            for name in self.few.drain(..) {
                many.insert(name);
            }
            self.few = Vec::new();
            self.many = Some(many);
        }
        true
    }

    /// Removes `topic`; `false` when it was not there.
    pub(crate) fn remove(&mut self, topic: &str) -> bool {
        if let Some(many) = &mut self.many {
            let Some(added) = many.names.remove(topic) else {
                return false;
            };
            many.order.remove(&added);
            return true;
        }
        let Some(at) = self.few.iter().position(|t| &**t == topic) else {
            return false;
        };
        self.few.remove(at);
        true
    }

    /// The topics, in the order they were added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        let many = self.many.iter().flat_map(|many| many.order.values());
        self.few.iter().chain(many)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_of_subscribing_and_each_topic_once() {
        let mut topics = Topics::default();
        assert!(topics.insert("b"));
        assert!(topics.insert("a"));
        assert!(!topics.insert("b"), "once");
        assert!(topics.insert("c"));
        assert!(topics.remove("a"));
        assert!(!topics.remove("a"));
        assert!(topics.insert("a"), "back, now last");
        let names: Vec<&str> = topics.iter().map(|t| &**t).collect();
        assert_eq!(names, ["b", "c", "a"]);
    }

    #[test]
    fn many_topics_keep_their_order_past_the_short_list() {
        let mut topics = Topics::default();
        for n in 0..100 {
            assert!(topics.insert(&format!("t{n}")));
        }
        assert!(!topics.insert("t3"), "once");
        for n in (0..100).step_by(2) {
            assert!(topics.remove(&format!("t{n}")));
        }
        assert!(!topics.remove("t0"));
        assert!(topics.insert("t0"), "back, now last");
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let mut expected: Vec<String> = (1..100).step_by(2).map(|n| format!("t{n}")).collect();
        expected.push("t0".to_owned());
        assert_eq!(names, expected);
    }
}
