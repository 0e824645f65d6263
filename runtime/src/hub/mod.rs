//! The hub: topic -> subscribers, app-wide. Peers publish and subscribe through it, and so can HTTP
//! handlers and background tasks (`Hub` is an extractor and a cheap clonable handle).
//!
//! A publish makes its [`Payload`] once and appends it to the topic's log ([`topic`]); every
//! subscriber reads it from there, so a message costs its memory once however many subscribers
//! have yet to read it. The topic map is sharded, and no lock is held across an `.await`.
//!
//! Where each part lives: [`entry`] (the log's entries and their stamps), [`roster`] (a topic's
//! members, and the walk that offers them an entry), [`subscription`] (what a member and its
//! cursor share), [`cursor`] (a place in the log), [`reading`] (a subscriber's cursors merged by
//! stamp), [`history`] (a retained topic's last messages and their offsets), [`retention`]
//! (which topics are retained), [`layer`] (how routes find their hub), [`presence`] (tracked
//! topics' members here, and their joins and leaves in order), [`namespace`] (a route's topics
//! apart from the app-wide ones).
//!
//! The hub knows nothing of transports: WebSocket peers and event streams are [`Subscriber`]s,
//! implemented where they live.

mod counted;
mod cursor;
mod entry;
mod history;
mod layer;
mod namespace;
mod presence;
#[cfg(test)]
mod presence_tests;
mod reading;
mod retention;
mod roster;
mod split;
mod subscriber;
mod subscription;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod topic;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use crate::broker::{
    Backlog, Broker, Deliver, Envelope, Inbox, MembersHere, PresenceAnswer, PresenceAsk,
    PresenceChange, PresenceQuery, Replay,
};
use crate::offset::Offset;
pub(crate) use crate::offset::Resume;
use crate::payload::{IntoPayload, Payload, PayloadError};
use crate::presence::{Headcount, Members, PRESENCE_EVENT, Page, event_json};
pub(crate) use cursor::{Cursor, Gap};
pub(crate) use entry::{Entry, Framed, entry_cost, next_stamp};
pub use layer::{HubLayer, WithHub};
pub use namespace::Namespace;
pub(crate) use reading::{Reading, Said};
use retention::{Pattern, Retention};
pub(crate) use subscriber::{Offer, Owed, Subscriber, SubscriberId};
pub(crate) use subscription::SubscriptionKey;
pub(crate) use topic::Publish;
use topic::{Fetched, Pending, Topic};

const SHARDS: usize = 16;

type Shard = RwLock<HashMap<Arc<str>, Arc<Topic>>>;

/// The app-wide topic registry. Clones share one hub.
///
/// `routes!` gives every router a hub of its own. To publish from a background task, make the hub
/// first and install it on the router, so the routes use yours. One app, one hub: a hub the app
/// retains or publishes on without installing it reaches no route, and nitrous logs a warning
/// once a router answers from its own hub beside it.
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
    retention: Retention,
    /// How many retained topics have no subscriber, as last noted ([`HubInner::note_idle`]):
    /// the scan that lets go of idle topics runs only when this passes [`MAX_IDLE_RETAINED`], so
    /// retained topics that have subscribers cost no scan however many there are.
    idle: AtomicUsize,
    /// Whether any route reaches this hub ([`split`]).
    reach: split::Reach,
    /// Tracked topics' members here ([`Hub::track_presence`]).
    presence: presence::Tracking,
    /// How many times the idle retained topics were scanned.
    #[cfg(test)]
    scans: AtomicUsize,
}

/// How many retained topics without subscribers a hub keeps. Past it, the ones idle longest are
/// let go (a client that resumes on one later is told it missed messages): an app with a topic
/// per document cannot fill memory with histories nobody reads.
pub const MAX_IDLE_RETAINED: usize = 10_000;

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("topics", &self.topic_count())
            .field("kept_topics", &self.kept_topic_count())
            .finish()
    }
}

impl Hub {
    /// An in-process hub: topics reach the subscribers of this process.
    pub fn new() -> Hub {
        Hub::made_by_app(None)
    }

    /// A router's own hub, which its routes use unless an outer [`Hub::layer`] comes first.
    pub(crate) fn own() -> Hub {
        Hub::build(None, split::Reach::own())
    }

    /// A hub that shares its topics with other instances through `broker` (for example
    /// `RedisBroker`, cargo feature `redis`). Local delivery
    /// never waits for the broker.
    pub fn with_broker(broker: impl Broker) -> Hub {
        let hub = Hub::made_by_app(Some(Arc::new(broker)));
        if let Some(broker) = &hub.inner.broker {
            let hub_side: Arc<dyn Deliver> = hub.inner.clone();
            broker.start(Inbox::new(Arc::downgrade(&hub_side), hub.inner.instance));
        }
        hub
    }

    /// A hub the app made: reported if the app uses it and no router serves it ([`split`]).
    fn made_by_app(broker: Option<Arc<dyn Broker>>) -> Hub {
        let hub = Hub::build(broker, split::Reach::default());
        split::register(&hub.inner);
        hub
    }

    fn build(broker: Option<Arc<dyn Broker>>, reach: split::Reach) -> Hub {
        let instance = crate::broker::instance_id();
        Hub {
            inner: Arc::new(HubInner {
                instance,
                broker,
                shards: std::array::from_fn(|_| RwLock::new(HashMap::new())),
                retention: Retention::default(),
                idle: AtomicUsize::new(0),
                reach,
                presence: presence::Tracking::new(instance),
                #[cfg(test)]
                scans: AtomicUsize::new(0),
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
    /// publish, on the hub the routes use (the one installed with [`Hub::layer`]); an exact name
    /// wins over a prefix, a longer prefix over a shorter one.
    ///
    /// [`EventStream::subscribe_from`]: crate::sse::EventStream::subscribe_from
    /// [`Peer::subscribe_from`]: crate::ws::Peer::subscribe_from
    pub fn retain(&self, pattern: &str, capacity: usize) {
        split::used(&self.inner, pattern);
        let pattern = Pattern::new(pattern);
        self.inner.retention.add(pattern.clone(), capacity);
        // Topics that exist already and match now keep their messages too.
        for shard in &self.inner.shards {
            let shard = shard.read().unwrap_or_else(|p| p.into_inner());
            for (name, topic) in shard.iter() {
                if let Some(capacity) = self.inner.capacity(name) {
                    topic.retain(capacity, self.inner.mirrored());
                    self.inner.note_idle(topic);
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
        crate::telemetry::meters().publishes.increment(1);
        split::published(&self.inner, topic);
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
            return self
                .inner
                .topic(topic)
                .map_or(0, |t| t.member_count_but(publish.origin));
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
    #[cfg(test)]
    pub(crate) fn subscribe_from(
        &self,
        topic: &str,
        subscriber: Arc<dyn Subscriber>,
        resume: Resume,
    ) {
        self.join_from(topic, subscriber, resume, None);
    }

    /// [`Hub::subscribe_from`]; on a tracked topic the subscriber joins its presence with `info`
    /// (JSON, checked by the caller; `null` when `None`).
    pub(crate) fn join_from(
        &self,
        topic: &str,
        subscriber: Arc<dyn Subscriber>,
        resume: Resume,
        info: Option<Arc<str>>,
    ) {
        split::used(&self.inner, topic);
        let id = subscriber.id();
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
        self.inner.note_idle(&entry);
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
        if self.inner.presence.tracks(topic) {
            let info = info.unwrap_or_else(|| Arc::from("null"));
            if let Some(joined) = self.inner.presence.join(topic, id, info) {
                self.inner.announce(joined);
            }
        }
    }

    /// Removes subscriber `id` from `topic`; the topic goes when its last subscriber does (unless
    /// it is retained). A member of a tracked topic leaves it.
    pub(crate) fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        self.let_go(topic, id);
        if let Some(left) = self.inner.presence.leave(topic, id) {
            self.inner.announce(left);
        }
    }

    fn let_go(&self, topic: &str, id: SubscriberId) {
        let mut shard = self.inner.write_shard(topic);
        let Some(entry) = shard.get(topic).cloned() else {
            return;
        };
        // A topic can be empty already: a publish drops subscribers that refuse its entries, and
        // they come here when they close.
        if entry.unsubscribe(id) > 0 {
            return;
        }
        if entry.is_retained() {
            self.inner.note_idle(&entry);
        } else {
            shard.remove(topic);
            self.inner.forget_idle(&entry);
        }
        if entry.set_upstream(false)
            && let Some(broker) = &self.inner.broker
        {
            broker.unsubscribe(topic);
        }
        drop(shard);
        self.inner.mind_idle_topics();
    }

    /// How many subscribers `topic` has.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner.topic(topic).map_or(0, |t| t.member_count())
    }

    /// The topics with at least one subscriber here. A namespaced route's topic is named as the
    /// hub holds it: its namespace, the ASCII unit separator (`\u{1f}`), then its own name.
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

    /// How many topics this hub holds: each with a subscriber here, and each retained one, with
    /// or without (up to [`MAX_IDLE_RETAINED`] idle ones). [`Hub::topic_count`] counts only those
    /// with subscribers.
    pub fn kept_topic_count(&self) -> usize {
        let shards = self.inner.shards.iter();
        shards
            .map(|s| {
                s.read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .len()
            })
            .sum()
    }

    /// Tracks presence on the topics `pattern` names (`"room:*"`: every topic that starts with
    /// `room:`; `"lobby"`: that one): their subscribers are their members, each with an info
    /// value, and each join and leave is published on the topic as a [`PRESENCE_EVENT`] message
    /// (see [`crate::presence`]). With a broker that shares presence (`RedisBroker`), members and
    /// events span the instances. Call it at start-up, before the first subscribe, on the hub the
    /// routes use.
    pub fn track_presence(&self, pattern: &str) {
        split::used(&self.inner, pattern);
        self.inner.presence.track(pattern);
    }

    /// Waits (at most 5 s) until what this hub handed its broker has gone out: call it after
    /// [`serve`](crate::serve) returns, so the leaves of the peers and streams the shutdown closed
    /// (and their last messages) reach the other instances, rather than those members staying
    /// there until their presence expires. Without a broker it returns at once.
    ///
    /// ```no_run
    /// # async fn demo(listener: tokio::net::TcpListener, hub: nitrous::Hub) -> std::io::Result<()> {
    /// let app: nitrous::axum::Router = nitrous::axum::Router::new().layer(hub.layer());
    /// let served = nitrous::serve(listener, app).await;
    /// hub.flush().await;
    /// served
    /// # }
    /// ```
    pub async fn flush(&self) {
        if let Some(broker) = &self.inner.broker {
            let _ = tokio::time::timeout(FLUSH_TIMEOUT, broker.flush()).await;
        }
    }

    /// Whether `topic` is tracked ([`Hub::track_presence`]).
    pub(crate) fn tracks_presence(&self, topic: &str) -> bool {
        self.inner.presence.tracks(topic)
    }

    /// How many members `topic` has, read without the member list: on every instance with a
    /// broker that shares presence (within its timeout), else here.
    pub async fn presence_count(&self, topic: &str) -> Headcount {
        if let Some(PresenceAnswer::Count(count)) = self.inner.ask(topic, PresenceAsk::Count).await
        {
            return Headcount {
                count,
                everywhere: true,
            };
        }
        Headcount {
            count: self.inner.presence.count(topic),
            everywhere: false,
        }
    }

    /// A page of `topic`'s members ([`Page::first`], then [`Page::after`] the answer's
    /// [`Members::next`]): on every instance with a broker that shares presence (within its
    /// timeout), else here. A member that joins or leaves while the pages are read may be
    /// missed or seen; its event tells.
    pub async fn presence(&self, topic: &str, page: Page) -> Members {
        let remote = match page.cursor() {
            Some(cursor) => cursor
                .strip_prefix(REMOTE_CURSOR)
                .map(|c| Page::after(c, page.limit())),
            None => Some(page.clone()),
        };
        if let Some(remote) = remote
            && let Some(PresenceAnswer::Page(members, next)) =
                self.inner.ask(topic, PresenceAsk::Page(remote)).await
        {
            return Members {
                members,
                next: next.map(|next| format!("{REMOTE_CURSOR}{next}")),
                everywhere: true,
            };
        }
        let local = match page.cursor() {
            Some(cursor) if cursor.starts_with(REMOTE_CURSOR) => Page::first(page.limit()),
            _ => page,
        };
        self.inner.presence.page(topic, &local)
    }

    /// The topics of namespace `name`: what the routes whose
    /// [`Options::namespace`](crate::ws::Options::namespace) is `name` publish and subscribe to,
    /// apart from the app-wide topics. Publish into it from an HTTP handler or a task.
    pub fn namespace(&self, name: &str) -> Namespace {
        Namespace::new(self.clone(), name)
    }

    /// A layer that puts this hub in every request's extensions, unless an outer layer already put
    /// one there (so `router().layer(my_hub.layer())` wins over the router's own hub).
    pub fn layer(&self) -> HubLayer {
        self.inner.reach.installed();
        HubLayer::new(self.clone(), false)
    }

    /// [`Hub::layer`] for a router's own hub ([`Hub::own`]), which tells when it starts serving.
    pub(crate) fn own_layer(&self) -> HubLayer {
        HubLayer::new(self.clone(), true)
    }
}

/// The longest [`Hub::flush`] waits for the broker.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What starts a page cursor from the broker (one from this instance starts with a member id).
const REMOTE_CURSOR: &str = "r:";

/// How long the hub waits for a broker's presence answer before it answers from here: longer
/// than a broker's own bound (Redis's command timeout, 2 s by default), so it is only a backstop.
const PRESENCE_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HubInner {
    /// Hands a join or leave here on, in order: to the topic's subscribers here (the member that
    /// joined included), then to the broker for the shared view and the other instances.
    fn announce(&self, changed: presence::Changed) {
        self.presence.changed(changed, |changed| {
            let json = event_json(
                changed.change,
                &changed.topic,
                &changed.member,
                &changed.info,
            );
            let payload = Payload::text(json);
            let event: Arc<str> = Arc::from(PRESENCE_EVENT);
            if let Some(broker) = self.broker.as_ref().filter(|b| b.shares_presence()) {
                let envelope = Envelope::new(self.instance, payload.clone(), Some(event.clone()));
                broker.presence(PresenceChange {
                    topic: changed.topic.to_string(),
                    change: changed.change,
                    member: changed.member,
                    info: changed.info,
                    envelope,
                });
            }
            let publish = Publish {
                payload,
                origin: None,
                event: Some(event),
            };
            if let Some(topic) = self.topic(&changed.topic) {
                topic.publish(publish);
            }
        });
    }

    /// Asks the broker about presence on `topic`; `None` without one that shares presence, or
    /// when it does not answer.
    async fn ask(&self, topic: &str, ask: PresenceAsk) -> Option<PresenceAnswer> {
        let broker = self.broker.as_ref().filter(|b| b.shares_presence())?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        broker.presence_query(PresenceQuery::new(topic, ask, move |answer| {
            let _ = tx.send(answer);
        }));
        tokio::time::timeout(PRESENCE_QUERY_TIMEOUT, rx)
            .await
            .ok()?
            .ok()?
    }

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
        self.retention.capacity(topic)
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

    /// A new topic, retained if a rule names it (the caller holds its shard's lock, notes the
    /// topic once it has its first subscriber or none ([`HubInner::note_idle`]), and calls
    /// [`HubInner::mind_idle_topics`] once it has let go).
    fn new_topic(&self, name: &str) -> Arc<Topic> {
        let topic = Arc::new(Topic::new());
        if let Some(capacity) = self.capacity(name) {
            topic.retain(capacity, self.mirrored());
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
            self.note_idle(&topic);
            shard.insert(Arc::from(name), topic.clone());
            topic
        };
        self.mind_idle_topics();
        topic
    }

    /// Counts `topic` among the idle retained topics (retained, no subscriber), or no longer, as
    /// it is now. Called under its shard's lock wherever that can change: a subscribe, an
    /// unsubscribe, a topic made or newly retained. (A publish that drops a topic's last
    /// subscriber for falling behind leaves it to that subscriber's unsubscribe, which follows.)
    fn note_idle(&self, topic: &Topic) {
        let idle = topic.idle_since().is_some();
        if topic.set_counted_idle(idle) {
            if idle {
                self.idle.fetch_add(1, Ordering::Relaxed);
            } else {
                self.idle.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// `topic` left the hub: it counts as idle no more.
    fn forget_idle(&self, topic: &Topic) {
        if topic.set_counted_idle(false) {
            self.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Lets go of idle retained topics once there are too many.
    fn mind_idle_topics(&self) {
        if self.idle.load(Ordering::Relaxed) > MAX_IDLE_RETAINED {
            self.let_go_of_idle_topics();
        }
    }

    /// Past [`MAX_IDLE_RETAINED`] idle retained topics, lets go of the tenth of them that have
    /// been quiet longest (one scan pays for many topics going idle).
    fn let_go_of_idle_topics(&self) {
        #[cfg(test)]
        self.scans.fetch_add(1, Ordering::Relaxed);
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
            if shard.get(&name).is_some_and(|t| t.idle_since().is_some())
                && let Some(topic) = shard.remove(&name)
            {
                self.forget_idle(&topic);
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

    fn is_retained(&self, topic: &str) -> bool {
        self.capacity(topic).is_some()
    }

    fn topics(&self) -> Vec<String> {
        HubInner::topics(self)
    }

    fn presence_here(&self) -> Vec<MembersHere> {
        self.presence.here()
    }
}
