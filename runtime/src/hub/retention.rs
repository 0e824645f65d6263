//! Which topics are retained, and how many messages each keeps ([`Hub::retain`](super::Hub::retain));
//! its [`Pattern`] also names the topics presence tracks.

use std::sync::RwLock;

/// A topic name, or a prefix: `todos:*` is every topic that starts with `todos:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    pub(crate) fn new(pattern: &str) -> Pattern {
        match pattern.strip_suffix('*') {
            Some(prefix) => Pattern::Prefix(prefix.to_owned()),
            None => Pattern::Exact(pattern.to_owned()),
        }
    }

    pub(super) fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::Exact(name) => name == topic,
            Pattern::Prefix(prefix) => topic.starts_with(prefix.as_str()),
        }
    }

    /// Exact names first, then longer prefixes.
    fn precedence(&self) -> (bool, usize) {
        match self {
            Pattern::Exact(name) => (true, name.len()),
            Pattern::Prefix(prefix) => (false, prefix.len()),
        }
    }
}

/// The retention rules, most precise first.
#[derive(Default)]
pub(crate) struct Retention {
    rules: RwLock<Vec<(Pattern, usize)>>,
}

impl Retention {
    /// Topics `pattern` names keep `capacity` messages (a rule for the same pattern is replaced).
    pub(crate) fn add(&self, pattern: Pattern, capacity: usize) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.retain(|(known, _)| *known != pattern);
        rules.push((pattern, capacity));
        rules.sort_by_key(|(pattern, _)| std::cmp::Reverse(pattern.precedence()));
    }

    /// How many messages `topic` keeps, if a rule names it.
    pub(crate) fn capacity(&self, topic: &str) -> Option<usize> {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        rules
            .iter()
            .find(|(pattern, _)| pattern.matches(topic))
            .map(|(_, capacity)| *capacity)
    }
}
