//! Namespaces, as crossws 0.4 has them: a route that opts in
//! ([`Options::namespace`](crate::ws::Options::namespace)) publishes and subscribes in its own
//! set of topics, so two routes using a topic named `chat` do not hear each other. The default
//! stays app-wide topics, which event streams, HTTP handlers and tasks share.
//!
//! The hub's names for a namespace's topics are [`crate::topic_name`]'s. Server-side code names
//! the namespace: `hub.namespace("ns").publish("chat", ..)`.

use std::borrow::Cow;
use std::sync::Arc;

use super::Hub;
use crate::payload::{IntoPayload, PayloadError};
use crate::presence::{Headcount, Members, Page};
use crate::topic_name::scoped;

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
