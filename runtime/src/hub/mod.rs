//! The hub: topic -> subscribers, app-wide. Peers publish and subscribe through it, and so can HTTP
//! handlers and background tasks (`Hub` is an extractor and a cheap clonable handle).
//!
//! A publish makes its [`Payload`] once and appends it to the topic's log ([`topic`]); every
//! subscriber reads it from there, so a message costs its memory once however many subscribers
//! have yet to read it. The topic map is sharded, and no lock is held across an `.await`.
//!
//! The hub knows nothing of transports: WebSocket peers and event streams are [`Subscriber`]s,
//! implemented where they live.

mod subscriber;
mod topic;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock, RwLockWriteGuard};
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::broker::{Broker, Deliver, Envelope, Inbox};
use crate::payload::{IntoPayload, Payload, PayloadError};
pub(crate) use subscriber::{Offer, Subscriber, SubscriberId};
use topic::Topic;
pub(crate) use topic::{Cursor, Entry, next_stamp};

const SHARDS: usize = 16;

type Shard = RwLock<HashMap<Arc<str>, Arc<Topic>>>;

/// The app-wide topic registry. Clones share one hub.
///
/// `routes!` gives every router a hub of its own. To publish from a background task, make the hub
/// first and install it on the router, so the routes use yours:
///
/// ```
/// let hub = nitrous::Hub::new();
/// // router() from routes!; an empty router stands in for it here
/// let app: nitrous::axum::Router = nitrous::axum::Router::new().layer(hub.layer());
/// // later, from a task: every subscriber of "news" gets it, once
/// let reached = hub.publish("news", "hello, everyone").unwrap();
/// assert_eq!(reached, 0); // nobody has subscribed yet
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    /// This instance's id in broker messages.
    instance: u128,
    broker: Option<Arc<dyn Broker>>,
    /// Topics with subscribers, and retained topics (which stay without them).
    shards: [Shard; SHARDS],
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("topics", &self.topic_count())
            .finish()
    }
}

impl Hub {
    /// An in-process hub: topics reach the subscribers of this process.
    pub fn new() -> Hub {
        Hub::build(None)
    }

    /// A hub that shares its topics with other instances through `broker` (for example
    /// `RedisBroker`, cargo feature `redis`). Local delivery
    /// never waits for the broker.
    pub fn with_broker(broker: impl Broker) -> Hub {
        let hub = Hub::build(Some(Arc::new(broker)));
        if let Some(broker) = &hub.inner.broker {
            let hub_side: Arc<dyn Deliver> = hub.inner.clone();
            broker.start(Inbox::new(Arc::downgrade(&hub_side), hub.inner.instance));
        }
        hub
    }

    fn build(broker: Option<Arc<dyn Broker>>) -> Hub {
        Hub {
            inner: Arc::new(HubInner {
                instance: crate::broker::instance_id(),
                broker,
                shards: std::array::from_fn(|_| RwLock::new(HashMap::new())),
            }),
        }
    }

    /// Sends `payload` to every subscriber of `topic`, once each. Publishing to a topic nobody
    /// subscribes to does nothing. Returns how many subscribers it reached.
    pub fn publish(&self, topic: &str, payload: impl IntoPayload) -> Result<usize, PayloadError> {
        Ok(self.publish_payload(topic, payload.into_payload()?, None))
    }

    /// Keeps the last `capacity` messages published on `topic`, numbered, so an event stream that
    /// reconnects with `Last-Event-ID` gets what it missed ([`EventStream::subscribe_from`]).
    /// Publishing to a retained topic numbers its events, even with no subscriber.
    ///
    /// [`EventStream::subscribe_from`]: crate::sse::EventStream::subscribe_from
    pub fn retain(&self, topic: &str, capacity: usize) {
        let mut shard = self.inner.write_shard(topic);
        let entry = shard
            .entry(Arc::from(topic))
            .or_insert_with(|| Arc::new(Topic::new()));
        entry.retain(capacity);
    }

    /// Delivers `payload` to every subscriber of `topic` but `except`, here and, through the
    /// broker, on the other instances.
    pub(crate) fn publish_payload(
        &self,
        topic: &str,
        payload: Payload,
        except: Option<SubscriberId>,
    ) -> usize {
        if let Some(broker) = &self.inner.broker {
            broker.publish(topic, Envelope::new(self.inner.instance, payload.clone()));
        }
        self.inner.publish_local(topic, payload, except)
    }

    /// Adds `subscriber` to `topic`; subscribing twice is one subscription.
    pub(crate) fn subscribe(&self, topic: &str, subscriber: Arc<dyn Subscriber>) {
        self.subscribe_with_replay(topic, subscriber, None);
    }

    /// Subscribes, first replaying from a retained topic what came after `last` (the subscriber's
    /// `Last-Event-ID`: `Some(None)` when it was not a number). Without a retained topic, or with
    /// `last == None`, this is `subscribe`. Only event streams resume (they take replayed entries
    /// as they are offered).
    pub(crate) fn subscribe_with_replay(
        &self,
        topic: &str,
        subscriber: Arc<dyn Subscriber>,
        last: Option<Option<u64>>,
    ) {
        // Under the shard's lock, so the topic cannot be removed by its last member leaving in
        // between.
        let mut shard = self.inner.write_shard(topic);
        let (name, entry) = match shard.get_key_value(topic) {
            Some((name, entry)) => (name.clone(), entry.clone()),
            None => {
                let name: Arc<str> = Arc::from(topic);
                let entry = Arc::new(Topic::new());
                shard.insert(name.clone(), entry.clone());
                (name, entry)
            }
        };
        entry.subscribe(&name, subscriber, last);
        if entry.member_count() > 0
            && entry.set_upstream(true)
            && let Some(broker) = &self.inner.broker
        {
            broker.subscribe(topic);
        }
    }

    /// Removes subscriber `id` from `topic`; the topic goes when its last subscriber does (unless
    /// it is retained).
    pub(crate) fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        let mut shard = self.inner.write_shard(topic);
        let Some(entry) = shard.get(topic).cloned() else {
            return;
        };
        // A topic can be empty already: a publish drops subscribers that refuse its entries, and
        // they come here when they close.
        if entry.unsubscribe(id) > 0 {
            return;
        }
        if !entry.is_retained() {
            shard.remove(topic);
        }
        if entry.set_upstream(false)
            && let Some(broker) = &self.inner.broker
        {
            broker.unsubscribe(topic);
        }
    }

    /// How many subscribers `topic` has.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner.topic(topic).map_or(0, |t| t.member_count())
    }

    /// The topics with at least one subscriber here.
    pub fn topics(&self) -> Vec<String> {
        self.inner.topics()
    }

    /// How many topics have at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                let shard = s.read().unwrap_or_else(|poisoned| poisoned.into_inner());
                shard.values().filter(|t| t.member_count() > 0).count()
            })
            .sum()
    }

    /// A layer that puts this hub in every request's extensions, unless an outer layer already put
    /// one there (so `router().layer(my_hub.layer())` wins over the router's own hub).
    pub fn layer(&self) -> HubLayer {
        HubLayer { hub: self.clone() }
    }
}

impl HubInner {
    fn shard(&self, topic: &str) -> &Shard {
        let mut hasher = DefaultHasher::new();
        topic.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }

    fn write_shard(&self, topic: &str) -> RwLockWriteGuard<'_, HashMap<Arc<str>, Arc<Topic>>> {
        self.shard(topic)
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        let shard = self
            .shard(name)
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shard.get(name).cloned()
    }

    fn publish_local(&self, topic: &str, payload: Payload, except: Option<SubscriberId>) -> usize {
        match self.topic(topic) {
            Some(topic) => topic.publish(payload, except),
            None => 0,
        }
    }

    fn topics(&self) -> Vec<String> {
        let mut topics = Vec::new();
        for shard in &self.shards {
            let shard = shard.read().unwrap_or_else(|p| p.into_inner());
            topics.extend(
                shard
                    .iter()
                    .filter(|(_, topic)| topic.member_count() > 0)
                    .map(|(name, _)| name.to_string()),
            );
        }
        topics.sort();
        topics
    }
}

/// What another instance published reaches this one's subscribers of the topic.
impl Deliver for HubInner {
    fn deliver(&self, topic: &str, payload: Payload) {
        self.publish_local(topic, payload, None);
    }

    fn topics(&self) -> Vec<String> {
        HubInner::topics(self)
    }
}

/// From [`Hub::layer`]: puts the hub in every request's extensions, unless an outer layer put one
/// there already.
#[derive(Clone, Debug)]
pub struct HubLayer {
    hub: Hub,
}

impl<S> tower::Layer<S> for HubLayer {
    type Service = WithHub<S>;

    fn layer(&self, inner: S) -> WithHub<S> {
        WithHub {
            inner,
            hub: self.hub.clone(),
        }
    }
}

/// A service with a [`HubLayer`] around it.
#[derive(Clone, Debug)]
pub struct WithHub<S> {
    inner: S,
    hub: Hub,
}

impl<S: tower::Service<Request>> tower::Service<Request> for WithHub<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if request.extensions().get::<Hub>().is_none() {
            request.extensions_mut().insert(self.hub.clone());
        }
        self.inner.call(request)
    }
}

/// Extracts the router's hub, for a server-side publish from an HTTP handler.
impl<S: Send + Sync> FromRequestParts<S> for Hub {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Hub>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "nitrous: no Hub in this request; serve the router that routes! generates, or add `hub.layer()`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;

    use super::{Cursor, Entry, Hub, Offer, Subscriber, SubscriberId};

    /// Records what the hub offers to it.
    struct Recorder {
        id: SubscriberId,
        seen: Mutex<Vec<u64>>,
        gaps: Mutex<Vec<(u64, u64)>>,
    }

    impl Subscriber for Recorder {
        fn id(&self) -> SubscriberId {
            self.id
        }
        fn offer(&self, entry: &Entry) -> Offer {
            assert!(entry.numbered, "a retained topic numbers");
            self.seen.lock().unwrap().push(entry.seq);
            Offer::Taken
        }
        fn wake(&self) {}
        fn start(&self, _topic: &Arc<str>, _cursor: Cursor) {}
        fn gap(&self, missed_from: u64, resumed_at: u64) {
            self.gaps.lock().unwrap().push((missed_from, resumed_at));
        }
    }

    proptest! {
        /// Any `Last-Event-ID` a client sends, `u64::MAX` included, replays exactly the retained
        /// messages after it, and a gap only when some it asked for are gone; never a panic.
        #[test]
        fn any_last_event_id_replays_exactly_what_followed_it(
            capacity in 1usize..8,
            published in 0u64..20,
            last in prop_oneof![
                Just(None),
                any::<u64>().prop_map(Some),
                (0u64..24).prop_map(Some),
                (u64::MAX - 2..=u64::MAX).prop_map(Some),
            ],
        ) {
            let hub = Hub::new();
            hub.retain("t", capacity);
            for _ in 0..published {
                hub.publish("t", "m").unwrap();
            }
            let recorder = Arc::new(Recorder {
                id: SubscriberId::next(),
                seen: Mutex::default(),
                gaps: Mutex::default(),
            });
            hub.subscribe_with_replay("t", recorder.clone(), Some(last));
            let oldest = published.saturating_sub(capacity as u64) + 1;
            let from = last.map_or(0, |last| last.saturating_add(1));
            let expected: Vec<u64> = (oldest..=published).filter(|seq| *seq >= from).collect();
            prop_assert_eq!(&*recorder.seen.lock().unwrap(), &expected);
            let gap = from < oldest && from <= published;
            prop_assert_eq!(recorder.gaps.lock().unwrap().len(), usize::from(gap));
        }
    }

    /// A broker that records what the hub asks of it.
    #[derive(Default)]
    struct Calls(Mutex<Vec<String>>);

    impl crate::broker::Broker for Arc<Calls> {
        fn start(&self, _inbox: crate::broker::Inbox) {}
        fn subscribe(&self, topic: &str) {
            self.0.lock().unwrap().push(format!("+{topic}"));
        }
        fn unsubscribe(&self, topic: &str) {
            self.0.lock().unwrap().push(format!("-{topic}"));
        }
        fn publish(&self, topic: &str, _envelope: crate::broker::Envelope) {
            self.0.lock().unwrap().push(format!("publish {topic}"));
        }
    }

    /// Takes entries until told to refuse them.
    struct Flaky {
        id: SubscriberId,
        refuse: std::sync::atomic::AtomicBool,
    }

    impl Subscriber for Flaky {
        fn id(&self) -> SubscriberId {
            self.id
        }
        fn offer(&self, _entry: &Entry) -> Offer {
            if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
                Offer::Refused
            } else {
                Offer::Taken
            }
        }
        fn wake(&self) {}
        fn start(&self, _topic: &Arc<str>, _cursor: Cursor) {}
    }

    #[test]
    fn a_topic_goes_and_the_broker_lets_go_when_its_last_subscriber_leaves() {
        let calls = Arc::new(Calls::default());
        let hub = Hub::with_broker(calls.clone());
        let (a, b) = (SubscriberId::next(), SubscriberId::next());
        for id in [a, b] {
            let flaky = Flaky {
                id,
                refuse: false.into(),
            };
            hub.subscribe("t", Arc::new(flaky));
        }
        assert_eq!(hub.subscriber_count("t"), 2);
        assert_eq!(hub.publish("t", "m").unwrap(), 2);
        hub.unsubscribe("t", a);
        assert_eq!(hub.topics(), ["t"]);
        hub.unsubscribe("t", b);
        assert_eq!(hub.topic_count(), 0);
        assert_eq!(hub.publish("t", "to nobody").unwrap(), 0);
        assert_eq!(
            *calls.0.lock().unwrap(),
            ["+t", "publish t", "-t", "publish t"]
        );
    }

    #[test]
    fn a_subscriber_dropped_by_a_publish_still_lets_the_topic_go_when_it_leaves() {
        let calls = Arc::new(Calls::default());
        let hub = Hub::with_broker(calls.clone());
        let flaky = Arc::new(Flaky {
            id: SubscriberId::next(),
            refuse: false.into(),
        });
        hub.subscribe("t", flaky.clone());
        flaky
            .refuse
            .store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(hub.publish("t", "refused").unwrap(), 0);
        assert_eq!(hub.subscriber_count("t"), 0, "dropped by the publish");
        hub.unsubscribe("t", flaky.id); // what a closing subscriber does
        assert_eq!(
            hub.inner
                .shards
                .iter()
                .map(|s| s.read().unwrap().len())
                .sum::<usize>(),
            0
        );
        assert_eq!(
            calls.0.lock().unwrap().last().map(String::as_str),
            Some("-t")
        );
    }

    #[test]
    fn a_retained_topic_stays_and_numbers_without_subscribers() {
        let hub = Hub::new();
        hub.retain("news", 2);
        hub.publish("news", "1").unwrap();
        let id = SubscriberId::next();
        hub.subscribe(
            "news",
            Arc::new(Flaky {
                id,
                refuse: false.into(),
            }),
        );
        hub.unsubscribe("news", id);
        hub.publish("news", "2").unwrap();
        hub.publish("news", "3").unwrap();
        let recorder = Arc::new(Recorder {
            id: SubscriberId::next(),
            seen: Mutex::default(),
            gaps: Mutex::default(),
        });
        hub.subscribe_with_replay("news", recorder.clone(), Some(Some(0)));
        assert_eq!(*recorder.seen.lock().unwrap(), [2, 3]);
        assert_eq!(*recorder.gaps.lock().unwrap(), [(1, 2)]);
    }
}
