//! Namespaces, as crossws 0.4 has them: a route that opts in
//! ([`Options::namespace`](crate::ws::Options::namespace)) publishes and subscribes in its own
//! set of topics, so two routes using a topic named `chat` do not hear each other. The default
//! stays app-wide topics, which event streams, HTTP handlers and tasks share.
//!
//! In the hub, namespace `ns`'s topic `chat` is the topic `ns` + [`SEPARATOR`] + `chat`; peers,
//! hooks and presence events see `chat`. Server-side code names the namespace:
//! `hub.namespace("ns").publish("chat", ..)`.

use std::borrow::Cow;
use std::sync::Arc;

use super::Hub;
use crate::payload::{IntoPayload, PayloadError};
use crate::presence::{Headcount, Members, Page};

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

/// The topics of one namespace ([`Hub::namespace`]): publish into it from an HTTP handler or a
/// task. Cheap to clone.
///
/// ```
/// let hub = nitrous::Hub::new();
/// // Only the peers of routes whose `Options::namespace` is "support" hear it.
/// let reached = hub.namespace("support").publish("chat", "the desk opens at 9").unwrap();
/// assert_eq!(reached, 0);
/// ```
#[derive(Clone, Debug)]
pub struct Namespace {
    hub: Hub,
    name: Arc<str>,
}

impl Namespace {
    pub(crate) fn new(hub: Hub, name: &str) -> Namespace {
        Namespace {
            hub,
            name: Arc::from(name),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn topic<'a>(&self, topic: &'a str) -> Cow<'a, str> {
        scoped(Some(&self.name), topic)
    }

    /// [`Hub::publish`] to this namespace's `topic`.
    pub fn publish(&self, topic: &str, payload: impl IntoPayload) -> Result<usize, PayloadError> {
        self.hub.publish(&self.topic(topic), payload)
    }

    /// [`Hub::publish_event`] to this namespace's `topic`.
    pub fn publish_event(
        &self,
        topic: &str,
        event: &str,
        payload: impl IntoPayload,
    ) -> Result<usize, PayloadError> {
        self.hub.publish_event(&self.topic(topic), event, payload)
    }

    /// [`Hub::subscriber_count`] of this namespace's `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.hub.subscriber_count(&self.topic(topic))
    }

    /// [`Hub::track_presence`] in this namespace: `pattern` names its topics.
    pub fn track_presence(&self, pattern: &str) {
        self.hub.track_presence(&self.topic(pattern));
    }

    /// [`Hub::presence_count`] of this namespace's `topic`.
    pub async fn presence_count(&self, topic: &str) -> Headcount {
        self.hub.presence_count(&self.topic(topic)).await
    }

    /// [`Hub::presence`] of this namespace's `topic`.
    pub async fn presence(&self, topic: &str, page: Page) -> Members {
        self.hub.presence(&self.topic(topic), page).await
    }
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
