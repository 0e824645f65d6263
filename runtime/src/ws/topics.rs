//! The topics a peer is subscribed to, in the order it subscribed: adding, finding and removing
//! one costs the same for a peer in 10,000 topics as for a peer in one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A peer's topics. Nothing is allocated until the first subscription.
#[derive(Default)]
pub(crate) struct Topics {
    inner: Option<Box<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Each topic, and when it was added.
    names: HashMap<Arc<str>, u64>,
    /// The topics by when they were added.
    order: BTreeMap<u64, Arc<str>>,
    added: u64,
}

impl Topics {
    /// Adds `topic`; `false` when it is there already.
    pub(crate) fn insert(&mut self, topic: &str) -> bool {
        let inner = self.inner.get_or_insert_default();
        if inner.names.contains_key(topic) {
            return false;
        }
        let name: Arc<str> = Arc::from(topic);
        inner.added += 1;
        inner.names.insert(name.clone(), inner.added);
        inner.order.insert(inner.added, name);
        true
    }

    /// Removes `topic`; `false` when it was not there.
    pub(crate) fn remove(&mut self, topic: &str) -> bool {
        let Some(inner) = &mut self.inner else {
            return false;
        };
        let Some(added) = inner.names.remove(topic) else {
            return false;
        };
        inner.order.remove(&added);
        true
    }

    /// The topics, in the order they were added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        self.inner.iter().flat_map(|inner| inner.order.values())
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
}
