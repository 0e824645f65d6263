//! What a topic is called in the hub: its own name when it is app-wide, or its namespace's name,
//! [`SEPARATOR`] and its own name when a route put it in a namespace
//! ([`Options::namespace`](crate::ws::Options::namespace)). Peers, hooks and presence events see
//! its own name.

use std::borrow::Cow;

/// Between a namespace and a topic in the hub's name for it: the ASCII unit separator, which no
/// app-wide topic is expected to hold.
pub(crate) const SEPARATOR: char = '\u{1f}';

/// The hub's name for `topic` in `namespace` (the name itself when there is none).
pub(crate) fn scoped<'a>(namespace: Option<&str>, topic: &'a str) -> Cow<'a, str> {
    match namespace {
        Some(namespace) => Cow::Owned(format!("{namespace}{SEPARATOR}{topic}")),
        None => Cow::Borrowed(topic),
    }
}

/// A hub topic's name as its subscribers name it: without its namespace.
pub(crate) fn visible(topic: &str) -> &str {
    topic.split_once(SEPARATOR).map_or(topic, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespaced_name_reads_back_as_the_topic() {
        assert_eq!(scoped(None, "chat"), "chat");
        let name = scoped(Some("support"), "chat");
        assert_ne!(name, "chat");
        assert_eq!(visible(&name), "chat");
        assert_eq!(visible("chat"), "chat");
        assert_eq!(visible("a:b"), "a:b");
    }
}
