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
#[cfg(test)]
mod testing;
mod topic;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockWriteGuard};
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::broker::{Backlog, Broker, Deliver, Envelope, Inbox, Replay};
use crate::offset::Offset;
pub(crate) use crate::offset::Resume;
use crate::payload::{IntoPayload, Payload, PayloadError};
pub(crate) use subscriber::{Offer, Owed, Subscriber, SubscriberId};
pub(crate) use topic::{Cursor, Entry, Gap, Publish, entry_cost, next_stamp};
use topic::{Fetched, Pending, Topic};

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
    /// Topics with subscribers, and retained topics (which stay without them, up to
    /// [`MAX_IDLE_RETAINED`]).
    shards: [Shard; SHARDS],
    /// Which topics are retained, and how many messages each keeps ([`Hub::retain`]).
    retention: RwLock<Vec<(Pattern, usize)>>,
    /// How many retained topics there are.
    retained: AtomicUsize,
}

/// How many retained topics without subscribers a hub keeps. Past it, the ones idle longest are
/// let go (a client that resumes on one later is told it missed messages): an app with a topic
/// per document cannot fill memory with histories nobody reads.
pub const MAX_IDLE_RETAINED: usize = 10_000;

/// A topic name, or a prefix: `todos:*` is every topic that starts with `todos:`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn new(pattern: &str) -> Pattern {
        match pattern.strip_suffix('*') {
            Some(prefix) => Pattern::Prefix(prefix.to_owned()),
            None => Pattern::Exact(pattern.to_owned()),
        }
    }

    fn matches(&self, topic: &str) -> bool {
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
                retention: RwLock::new(Vec::new()),
                retained: AtomicUsize::new(0),
            }),
        }
    }

    /// Sends `payload` to every subscriber of `topic`, once each. Publishing to a topic nobody
    /// subscribes to does nothing. Returns how many subscribers it reached.
    pub fn publish(&self, topic: &str, payload: impl IntoPayload) -> Result<usize, PayloadError> {
        let payload = payload.into_payload()?;
        Ok(self.publish_entry(
            topic,
            Publish {
                payload,
                origin: None,
                event: None,
            },
        ))
    }

    /// [`Hub::publish`], naming the event: an event stream sends it as `event: {event}`, so a
    /// page listens with `source.addEventListener(event, ..)`. WebSocket peers get the payload.
    pub fn publish_event(
        &self,
        topic: &str,
        event: &str,
        payload: impl IntoPayload,
    ) -> Result<usize, PayloadError> {
        let payload = payload.into_payload()?;
        let event = Some(Arc::from(event));
        Ok(self.publish_entry(
            topic,
            Publish {
                payload,
                origin: None,
                event,
            },
        ))
    }

    /// Retains the topics `pattern` names: `"news"` that topic, `"todos:*"` every topic whose
    /// name starts with `todos:`. Each keeps its last `capacity` messages, each with an
    /// [`Offset`], so a client that reconnects gets exactly what it missed
    /// ([`EventStream::subscribe_from`], [`Peer::subscribe_from`]). A retained topic keeps and
    /// numbers its messages even with no subscriber. Call it at start-up, before the first
    /// publish; an exact name wins over a prefix, a longer prefix over a shorter one.
    ///
    /// [`EventStream::subscribe_from`]: crate::sse::EventStream::subscribe_from
    /// [`Peer::subscribe_from`]: crate::ws::Peer::subscribe_from
    pub fn retain(&self, pattern: &str, capacity: usize) {
        let pattern = Pattern::new(pattern);
        {
            let mut rules = self
                .inner
                .retention
                .write()
                .unwrap_or_else(|p| p.into_inner());
            rules.retain(|(known, _)| *known != pattern);
            rules.push((pattern.clone(), capacity));
            rules.sort_by_key(|(pattern, _)| std::cmp::Reverse(pattern.precedence()));
        }
        // Topics that exist already and match now keep their messages too.
        for shard in &self.inner.shards {
            let shard = shard.read().unwrap_or_else(|p| p.into_inner());
            for (name, topic) in shard.iter() {
                if let Some(capacity) = self.inner.capacity(name) {
                    if !topic.is_retained() {
                        self.inner.retained.fetch_add(1, Ordering::Relaxed);
                    }
                    topic.retain(capacity, self.inner.mirrored());
                }
            }
        }
        if let Pattern::Exact(name) = pattern {
            drop(self.inner.topic_or_create(&name));
        }
    }

    /// Delivers a publish to every subscriber of `topic` but its publisher, here and, through the
    /// broker, on the other instances.
    ///
    /// A retained topic whose history the broker keeps goes through the broker even here: every
    /// instance delivers it when the broker hands it back numbered, so all of them deliver one
    /// order. What it returns then is how many subscribers here will get it.
    pub(crate) fn publish_entry(&self, topic: &str, publish: Publish) -> usize {
        let Some(broker) = &self.inner.broker else {
            return self.inner.publish_local(topic, publish);
        };
        let envelope = Envelope::new(
            self.inner.instance,
            publish.payload.clone(),
            publish.event.clone(),
        )
        .with_sender(publish.origin.map_or(0, SubscriberId::get));
        if broker.keeps_history()
            && let Some(capacity) = self.inner.capacity(topic)
        {
            broker.append(topic, envelope, capacity);
            let members = self.subscriber_count(topic);
            return members.saturating_sub(usize::from(publish.origin.is_some()));
        }
        broker.publish(topic, envelope);
        self.inner.publish_local(topic, publish)
    }

    /// Adds `subscriber` to `topic`; subscribing twice is one subscription.
    #[cfg(test)]
    pub(crate) fn subscribe(&self, topic: &str, subscriber: Arc<dyn Subscriber>) {
        self.subscribe_from(topic, subscriber, Resume::Live);
    }

    /// Subscribes, starting where `resume` says: on a retained topic, after an offset the client
    /// saw (what the history holds after it is replayed first); otherwise with what is published
    /// from now on.
    pub(crate) fn subscribe_from(
        &self,
        topic: &str,
        subscriber: Arc<dyn Subscriber>,
        resume: Resume,
    ) {
        // Under the shard's lock, so the topic cannot be removed by its last member leaving in
        // between.
        let mut shard = self.inner.write_shard(topic);
        let (name, entry) = match shard.get_key_value(topic) {
            Some((name, entry)) => (name.clone(), entry.clone()),
            None => {
                let name: Arc<str> = Arc::from(topic);
                let entry = self.inner.new_topic(topic);
                shard.insert(name.clone(), entry.clone());
                (name, entry)
            }
        };
        let pending = entry.subscribe(&name, subscriber, resume);
        if entry.member_count() > 0
            && entry.set_upstream(true)
            && let Some(broker) = &self.inner.broker
        {
            broker.subscribe(topic);
        }
        drop(shard);
        self.inner.mind_idle_topics();
        if let Some(pending) = pending {
            self.inner.fetch(topic, entry, pending);
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

    /// Delivers here. A topic nobody subscribes to is no topic, unless it is retained: then it
    /// is made, so it keeps and numbers the message.
    fn publish_local(&self, topic: &str, publish: Publish) -> usize {
        let found = self.topic(topic).or_else(|| {
            self.capacity(topic)?;
            Some(self.topic_or_create(topic))
        });
        match found {
            Some(topic) => topic.publish(publish),
            None => 0,
        }
    }

    /// How many messages `topic` keeps, if a retention rule names it.
    fn capacity(&self, topic: &str) -> Option<usize> {
        let rules = self.retention.read().unwrap_or_else(|p| p.into_inner());
        rules
            .iter()
            .find(|(pattern, _)| pattern.matches(topic))
            .map(|(_, capacity)| *capacity)
    }

    /// Whether retained topics are numbered by the broker, whose history they mirror.
    fn mirrored(&self) -> bool {
        self.broker.as_ref().is_some_and(|b| b.keeps_history())
    }

    /// Asks the broker for what a resume needs and finishes it with the answer (after the
    /// broker's own subscription to the topic, which was asked for first, so nothing published
    /// in between is missed: what both hold is delivered once).
    fn fetch(&self, topic: &str, entry: Arc<Topic>, pending: Pending) {
        let Some(broker) = &self.broker else {
            return entry.resume_fetched(pending, None);
        };
        let (after, limit) = (pending.after(), pending.limit());
        let instance = self.instance;
        broker.replay(Replay::new(
            topic,
            after,
            limit,
            move |backlog: Option<Backlog>| {
                let fetched = backlog.map(|backlog| Fetched {
                    missed: backlog.missed,
                    messages: backlog
                        .messages
                        .into_iter()
                        .map(|(offset, envelope)| {
                            let (_, _, payload, event) = envelope.into_parts();
                            let _ = instance;
                            (
                                offset,
                                Publish {
                                    payload,
                                    origin: None,
                                    event,
                                },
                            )
                        })
                        .collect(),
                });
                entry.resume_fetched(pending, fetched);
            },
        ));
    }

    /// A new topic, retained if a rule names it (the caller holds its shard's lock, and calls
    /// [`HubInner::mind_idle_topics`] once it has let go).
    fn new_topic(&self, name: &str) -> Arc<Topic> {
        let topic = Arc::new(Topic::new());
        if let Some(capacity) = self.capacity(name) {
            topic.retain(capacity, self.mirrored());
            self.retained.fetch_add(1, Ordering::Relaxed);
        }
        topic
    }

    fn topic_or_create(&self, name: &str) -> Arc<Topic> {
        let topic = {
            let mut shard = self.write_shard(name);
            if let Some(topic) = shard.get(name) {
                return topic.clone();
            }
            let topic = self.new_topic(name);
            shard.insert(Arc::from(name), topic.clone());
            topic
        };
        self.mind_idle_topics();
        topic
    }

    /// Lets go of idle retained topics once there are too many.
    fn mind_idle_topics(&self) {
        if self.retained.load(Ordering::Relaxed) > MAX_IDLE_RETAINED {
            self.let_go_of_idle_topics();
        }
    }

    /// Past [`MAX_IDLE_RETAINED`] retained topics, lets go of the tenth of the idle ones that
    /// have been quiet longest (one scan pays for many creations).
    fn let_go_of_idle_topics(&self) {
        let mut idle: Vec<(u64, usize, Arc<str>)> = Vec::new();
        for (at, shard) in self.shards.iter().enumerate() {
            let shard = shard.read().unwrap_or_else(|p| p.into_inner());
            for (name, topic) in shard.iter() {
                if let Some(since) = topic.idle_since() {
                    idle.push((since, at, name.clone()));
                }
            }
        }
        if idle.len() <= MAX_IDLE_RETAINED {
            return;
        }
        idle.sort_unstable();
        let excess = idle.len() - MAX_IDLE_RETAINED + MAX_IDLE_RETAINED / 10;
        for (_, at, name) in idle.into_iter().take(excess) {
            let mut shard = self.shards[at].write().unwrap_or_else(|p| p.into_inner());
            // Still idle (a subscriber may have come meanwhile)?
            if shard.get(&name).is_some_and(|t| t.idle_since().is_some()) {
                shard.remove(&name);
                self.retained.fetch_sub(1, Ordering::Relaxed);
            }
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
    fn deliver(&self, topic: &str, payload: Payload, event: Option<Arc<str>>) {
        let publish = Publish {
            payload,
            origin: None,
            event,
        };
        self.publish_local(topic, publish);
    }

    fn deliver_at(&self, topic: &str, offset: Offset, envelope: Envelope, own: bool) {
        // Only where it has subscribers: the history itself is the broker's.
        let Some(found) = self.topic(topic) else {
            return;
        };
        let (_, sender, payload, event) = envelope.into_parts();
        let origin = (own && sender != 0).then(|| SubscriberId::from_raw(sender));
        found.publish_at(
            offset,
            Publish {
                payload,
                origin,
                event,
            },
        );
    }

    fn undelivered(&self, topic: &str, envelope: Envelope) {
        let (_, sender, payload, event) = envelope.into_parts();
        let origin = (sender != 0).then(|| SubscriberId::from_raw(sender));
        self.publish_local(
            topic,
            Publish {
                payload,
                origin,
                event,
            },
        );
    }

    fn reconnected(&self) {
        // Resumes always read the broker's history; what live subscribers missed meanwhile is
        // not replayed to them (they were connected, so they do not resume).
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

    use super::{Cursor, Entry, Hub, Offer, Offset, Owed, Resume, Subscriber, SubscriberId};

    use super::testing::{Read, Reader};

    proptest! {
        /// Any offset a client sends, or any text, resumes with exactly the retained messages
        /// after it, and a gap exactly when some it asked for are gone; never a panic.
        #[test]
        fn any_resume_replays_exactly_what_followed_it(
            capacity in 1usize..8,
            published in 0usize..20,
            pick in proptest::option::of(0usize..24),
            junk in proptest::option::of(".{0,12}"),
        ) {
            let hub = Hub::new();
            hub.retain("t", capacity);
            let probe = Reader::new();
            hub.subscribe("t", probe.clone());
            for n in 0..published {
                hub.publish("t", format!("m{n}")).unwrap();
            }
            let offsets: Vec<Offset> = probe.read_all().into_iter().map(|r| match r {
                Read::Message(_, offset) => offset.unwrap(),
                Read::Gap(_) => unreachable!(),
            }).collect();
            // What the client says it saw: one of the offsets, a made-up one, or junk.
            let (resume, seen) = match (pick, junk) {
                (Some(at), _) if at < offsets.len() => (Resume::After(offsets[at]), Some(at)),
                (Some(_), _) => (Resume::After(Offset::new(0, 5)), None),
                (None, Some(text)) => (Resume::from_client(Some(&text)), None),
                (None, None) => (Resume::Live, None),
            };
            let reader = Reader::new();
            hub.subscribe_from("t", reader.clone(), resume);
            let read = reader.read_all();
            let oldest = published.saturating_sub(capacity);
            let (expect_from, expect_gap) = match (resume, seen) {
                (Resume::Live, _) => (published, false),
                (_, Some(at)) => ((at + 1).max(oldest), at + 1 < oldest),
                (_, None) => (oldest, true),
            };
            let gaps = read.iter().filter(|r| matches!(r, Read::Gap(_))).count();
            prop_assert_eq!(gaps, usize::from(expect_gap));
            let texts: Vec<String> = read.into_iter().filter_map(|r| match r {
                Read::Message(text, _) => Some(text),
                Read::Gap(_) => None,
            }).collect();
            let expected: Vec<String> = (expect_from..published).map(|n| format!("m{n}")).collect();
            prop_assert_eq!(texts, expected);
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
        fn replay_budget(&self) -> Owed {
            Owed::default()
        }
        fn start(&self, _cursor: Cursor, _owed: Owed) {}
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
        let reader = Reader::new();
        hub.subscribe_from("news", reader.clone(), Resume::Unknown);
        assert_eq!(reader.read(), ["2", "3"], "the last two");
    }

    #[test]
    fn retention_by_pattern_numbers_topics_made_at_their_first_publish() {
        let hub = Hub::new();
        hub.retain("todos:*", 3);
        hub.retain("todos:special", 1);
        assert_eq!(
            hub.publish("todos:a", "1").unwrap(),
            0,
            "nobody listens yet"
        );
        hub.publish("todos:a", "2").unwrap();
        hub.publish("todos:special", "x").unwrap();
        hub.publish("todos:special", "y").unwrap();
        hub.publish("other", "not kept").unwrap();
        let reader = Reader::new();
        hub.subscribe_from("todos:a", reader.clone(), Resume::Unknown);
        assert_eq!(reader.read(), ["1", "2"]);
        let reader = Reader::new();
        hub.subscribe_from("todos:special", reader.clone(), Resume::Unknown);
        assert_eq!(reader.read(), ["y"], "an exact name wins over the prefix");
        let reader = Reader::new();
        hub.subscribe_from("other", reader.clone(), Resume::Unknown);
        assert!(
            reader.read_all().is_empty(),
            "not retained: nothing kept, no gap"
        );
    }

    #[test]
    fn idle_retained_topics_are_let_go_past_the_bound() {
        let hub = Hub::new();
        hub.retain("doc:*", 1);
        for n in 0..super::MAX_IDLE_RETAINED + 1 {
            hub.publish(&format!("doc:{n}"), "x").unwrap();
        }
        let kept: usize = hub
            .inner
            .shards
            .iter()
            .map(|s| s.read().unwrap().len())
            .sum();
        assert!(kept <= super::MAX_IDLE_RETAINED, "{kept}");
        assert!(kept >= super::MAX_IDLE_RETAINED * 8 / 10, "{kept}");
        // The newest is kept; the oldest went.
        let reader = Reader::new();
        hub.subscribe_from(
            &format!("doc:{}", super::MAX_IDLE_RETAINED),
            reader.clone(),
            Resume::Unknown,
        );
        assert_eq!(reader.read(), ["x"]);
        let reader = Reader::new();
        hub.subscribe_from("doc:0", reader.clone(), Resume::Unknown);
        assert!(reader.read().is_empty());
    }

    #[test]
    fn an_event_name_travels_with_the_message() {
        let hub = Hub::new();
        let reader = Reader::new();
        hub.subscribe("t", reader.clone());
        hub.publish_event("t", "added", "x").unwrap();
        let mut cursors = reader.cursors.lock().unwrap();
        assert!(cursors[0].peek().is_some());
        let entry = cursors[0].advance();
        assert_eq!(entry.event.as_deref(), Some("added"));
    }

    /// A broker that keeps history in memory, shared by the hubs it serves: what Redis Streams
    /// do, without Redis. Replays can be held back, to publish during the handover.
    #[derive(Default)]
    struct Memory {
        inboxes: Mutex<Vec<crate::broker::Inbox>>,
        history: Mutex<Vec<(Offset, crate::broker::Envelope)>>,
        held: Mutex<Vec<crate::broker::Replay>>,
        hold: std::sync::atomic::AtomicBool,
        down: std::sync::atomic::AtomicBool,
    }

    impl crate::broker::Broker for Arc<Memory> {
        fn start(&self, inbox: crate::broker::Inbox) {
            self.inboxes.lock().unwrap().push(inbox);
        }
        fn subscribe(&self, _topic: &str) {}
        fn unsubscribe(&self, _topic: &str) {}
        fn publish(&self, _topic: &str, _envelope: crate::broker::Envelope) {}
        fn keeps_history(&self) -> bool {
            true
        }
        fn append(&self, topic: &str, envelope: crate::broker::Envelope, _capacity: usize) {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                let inboxes = self.inboxes.lock().unwrap();
                let own = inboxes.iter().find(|i| i.instance() == envelope.origin());
                if let Some(inbox) = own {
                    inbox.undelivered(topic, envelope);
                }
                return;
            }
            let offset = {
                let mut history = self.history.lock().unwrap();
                let offset = Offset::new(1_000, history.len() as u64 + 1);
                history.push((offset, envelope.clone()));
                offset
            };
            let inboxes = self.inboxes.lock().unwrap().clone();
            for inbox in inboxes {
                inbox.deliver_at(topic, offset, envelope.clone());
            }
        }
        fn replay(&self, replay: crate::broker::Replay) {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return replay.fail();
            }
            if self.hold.load(std::sync::atomic::Ordering::SeqCst) {
                return self.held.lock().unwrap().push(replay);
            }
            self.answer(replay);
        }
    }

    impl Memory {
        fn answer(&self, replay: crate::broker::Replay) {
            let history = self.history.lock().unwrap();
            let messages = history
                .iter()
                .filter(|(offset, _)| replay.after().is_none_or(|after| *offset > after))
                .cloned()
                .collect();
            drop(history);
            replay.answer(crate::broker::Backlog {
                messages,
                missed: false,
            });
        }

        fn release(&self) {
            let held = std::mem::take(&mut *self.held.lock().unwrap());
            for replay in held {
                self.answer(replay);
            }
        }
    }

    fn offsets(read: &[Read]) -> Vec<(String, Offset)> {
        read.iter()
            .filter_map(|r| match r {
                Read::Message(text, offset) => Some((text.clone(), offset.expect("retained"))),
                Read::Gap(_) => None,
            })
            .collect()
    }

    #[test]
    fn with_a_broker_that_keeps_history_every_instance_sees_one_numbering() {
        let memory = Arc::new(Memory::default());
        let (a, b) = (
            Hub::with_broker(memory.clone()),
            Hub::with_broker(memory.clone()),
        );
        for hub in [&a, &b] {
            hub.retain("news", 10);
        }
        let (on_a, on_b) = (Reader::new(), Reader::new());
        a.subscribe("news", on_a.clone());
        b.subscribe("news", on_b.clone());
        a.publish("news", "1").unwrap();
        b.publish("news", "2").unwrap();
        a.publish("news", "3").unwrap();
        let seen_a = offsets(&on_a.read_all());
        assert_eq!(seen_a.len(), 3);
        assert_eq!(
            seen_a,
            offsets(&on_b.read_all()),
            "the same order and offsets on both"
        );
    }

    #[test]
    fn a_resume_the_mirror_cannot_serve_is_fetched_and_published_meanwhile_goes_once() {
        let memory = Arc::new(Memory::default());
        let a = Hub::with_broker(memory.clone());
        a.retain("news", 100);
        let first = Reader::new();
        a.subscribe("news", first.clone());
        for n in 1..=5 {
            a.publish("news", format!("m{n}")).unwrap();
        }
        let seen = offsets(&first.read_all());
        // A client that saw m2 comes back on B, an instance started since, which has no mirror of
        // the topic: B asks the broker, and while the answer is on its way, m6 and m7 are
        // published.
        let b = Hub::with_broker(memory.clone());
        b.retain("news", 100);
        memory.hold.store(true, std::sync::atomic::Ordering::SeqCst);
        let back = Reader::new();
        b.subscribe_from("news", back.clone(), Resume::After(seen[1].1));
        a.publish("news", "m6").unwrap();
        a.publish("news", "m7").unwrap();
        assert!(
            back.read_all().is_empty(),
            "nothing before the history arrives"
        );
        memory.release(); // the answer holds m3..m7: m6 and m7 are in both
        a.publish("news", "m8").unwrap();
        let got = offsets(&back.read_all());
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["m3", "m4", "m5", "m6", "m7", "m8"],
            "each once, in order"
        );
        assert_eq!(got[2].1, seen[4].1, "the same offsets as on A");
        // A resume on an instance that receives the topic is read from the broker too: a copy
        // kept here could not tell, without asking, what it missed while not subscribed.
        memory.hold.store(true, std::sync::atomic::Ordering::SeqCst);
        let again = Reader::new();
        b.subscribe_from("news", again.clone(), Resume::After(got[3].1));
        assert!(again.read_all().is_empty());
        memory.release();
        let texts: Vec<String> = offsets(&again.read_all())
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(texts, ["m7", "m8"]);
    }

    #[test]
    fn when_the_broker_is_down_local_delivery_goes_on_and_a_resume_is_told_of_a_gap() {
        let memory = Arc::new(Memory::default());
        let a = Hub::with_broker(memory.clone());
        a.retain("news", 10);
        let live = Reader::new();
        a.subscribe("news", live.clone());
        a.publish("news", "before").unwrap();
        let before = offsets(&live.read_all());
        memory.down.store(true, std::sync::atomic::Ordering::SeqCst);
        a.publish("news", "during").unwrap();
        assert_eq!(live.read(), ["during"], "delivered here, without an offset");
        let back = Reader::new();
        a.subscribe_from("news", back.clone(), Resume::After(before[0].1));
        let read = back.read_all();
        assert!(matches!(read[0], Read::Gap(_)), "{read:?}");
        memory
            .down
            .store(false, std::sync::atomic::Ordering::SeqCst);
        a.publish("news", "after").unwrap();
        let after = offsets(&live.read_all());
        assert!(
            after[0].1 > before[0].1,
            "the numbering goes on, without reuse"
        );
    }
}
