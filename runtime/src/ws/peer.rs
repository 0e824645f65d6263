//! [`Peer`]: one WebSocket connection, as hooks see it.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::http::HeaderMap;

use super::close::frame_reason;
use super::headers::RequestHeaders;
use super::outbox::{Outbound, Outbox, cost};
use super::topics::Topics;
use super::{Close, CloseCode};
use crate::hub::{
    Cursor, Entry, Hub, Offer, Owed, Publish, Resume, Subscriber, SubscriberId, SubscriptionKey,
    entry_cost,
};
use crate::payload::{IntoPayload, Payload, PayloadError};
use crate::presence::{PresenceError, encode_info};
use crate::shutdown::Closer;
use crate::topic_name::{scoped, visible};

/// A peer's id: unique in this process, and its `Display`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(SubscriberId);

impl PeerId {
    pub(crate) fn next() -> PeerId {
        PeerId(SubscriberId::next())
    }

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The peer as the hub knows it.
    pub(crate) fn subscriber(self) -> SubscriberId {
        self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer-{}", self.0.get())
    }
}

/// Why a send did not queue the payload.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The payload could not be serialized.
    Encode(PayloadError),
    /// The peer is closing or closed.
    Closed,
    /// The peer's outbound buffer is full: it reads slower than it is sent to. nitrous closes it
    /// with code 1008.
    SlowConsumer,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Encode(e) => e.fmt(f),
            SendError::Closed => f.write_str("the peer is closed"),
            SendError::SlowConsumer => f.write_str(
                "the peer's outbound buffer is full (slow consumer); it is being closed",
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// The close code a slow consumer gets (policy violation), with [`SLOW_CONSUMER_REASON`].
pub const SLOW_CONSUMER_CODE: CloseCode = CloseCode::POLICY_VIOLATION;
/// The close reason a slow consumer gets.
pub const SLOW_CONSUMER_REASON: &str = "slow consumer: outbound buffer full";

/// The value of route param `name`, which the route guarantees.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    match params.iter().find(|(n, _)| n == name) {
        Some((_, value)) => value,
        None => {
            let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            panic!("nitrous: this route has no param `{name}` (its params: {names:?})")
        }
    }
}

/// The peers connected to one route.
pub(crate) type PeerSet = RwLock<HashMap<PeerId, Peer>>;

/// When the server shuts down, every peer of the route closes with 1001 (1012 under
/// `cargo nitrous dev`, where a shutdown is a restart).
impl Closer for PeerSet {
    fn shut_down(&self) {
        let (code, reason) = crate::dev::shutdown_close();
        for peer in self.read().unwrap_or_else(|p| p.into_inner()).values() {
            peer.shared.close(code, reason);
        }
    }
}

/// Everything a peer shares between its handle, its session and the hub.
pub(crate) struct PeerShared {
    pub(crate) id: PeerId,
    remote: Option<SocketAddr>,
    headers: RequestHeaders,
    params: Vec<(String, String)>,
    context: Option<Box<dyn Any + Send + Sync>>,
    pub(crate) outbound: Outbox,
    buffered: AtomicUsize,
    max_buffered: usize,
    closing: AtomicBool,
    /// Closed as a slow consumer: the session drops what it has not written.
    slow: AtomicBool,
    terminate_requested: AtomicBool,
    topics: Mutex<Topics>,
    /// How the connection closed, first word wins: the close we sent, or the client's.
    close_record: Mutex<Option<Close>>,
    hub: Hub,
    pub(crate) peers: Arc<PeerSet>,
    /// The route's namespace ([`Options::namespace`](super::Options::namespace)): its topics'
    /// names in the hub start with it.
    namespace: Option<Arc<str>>,
}

impl PeerShared {
    /// Queues a data frame; closes a slow consumer rather than let its queue grow without bound.
    ///
    /// The rule: a frame always fits an empty queue, whatever its size (so one message of any
    /// size the app sends never closes a peer that has caught up); otherwise the queue may hold
    /// up to `max_buffered`, counting each frame's payload plus what its queue entry costs.
    pub(crate) fn enqueue(&self, payload: Payload) -> Result<(), SendError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        let cost = cost(&payload);
        if !self.reserve(cost) {
            self.close_slow();
            return Err(SendError::SlowConsumer);
        }
        self.outbound
            .push(Outbound::Frame(payload))
            .inspect_err(|_| {
                self.buffered.fetch_sub(cost, Ordering::AcqRel);
            })
    }

    /// Counts `cost` more bytes owed to the peer, unless that takes a queue that is not empty
    /// past `max_buffered`.
    fn reserve(&self, cost: usize) -> bool {
        let before = self.buffered.fetch_add(cost, Ordering::AcqRel);
        if before > 0 && before.saturating_add(cost) > self.max_buffered {
            self.buffered.fetch_sub(cost, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn close_slow(&self) {
        if !self.slow.swap(true, Ordering::AcqRel) {
            crate::telemetry::meters().slow_consumers.increment(1);
        }
        if !self.is_closing() {
            tracing::warn!(peer = %self.id, buffered = self.buffered.load(Ordering::Acquire), limit = self.max_buffered, "nitrous: closing a slow consumer");
        }
        self.close(SLOW_CONSUMER_CODE.get(), SLOW_CONSUMER_REASON);
    }

    /// Closed as a slow consumer: what is queued will not be written.
    pub(crate) fn is_slow(&self) -> bool {
        self.slow.load(Ordering::Acquire)
    }

    /// Called by the session once a queued frame has gone to the socket.
    pub(crate) fn written(&self, payload: &Payload) {
        self.buffered.fetch_sub(cost(payload), Ordering::AcqRel);
    }

    /// Lets go of `bytes` owed that will not be written.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.buffered.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// The session has ended, for whatever reason: the peer is closed for good. It takes no more
    /// sends or subscriptions, leaves its route's peers and every topic (which still names them
    /// in [`Peer::topics`], for the `close` hook), and owes nothing.
    pub(crate) fn end(&self) {
        self.closing.store(true, Ordering::Release);
        self.outbound.detach();
        self.peers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        let topics: Vec<Arc<str>> = self
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        for topic in topics {
            self.hub.unsubscribe(&topic, self.id.subscriber());
        }
        // After every topic let go: none offers it anything more.
        self.buffered.store(0, Ordering::Release);
    }

    pub(crate) fn ping(&self) {
        let _ = self.outbound.push(Outbound::Ping);
    }

    /// Starts the closing handshake, once; later sends fail with [`SendError::Closed`]. The
    /// reason is cut to what a close frame holds.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        let reason = frame_reason(reason);
        self.record_close(Close::new(code, reason));
        let _ = self.outbound.push(Outbound::Close(code, reason.to_owned()));
    }

    /// The client sent a close frame: no more sends; the session flushes the reply.
    pub(crate) fn closed_by_client(&self, close: Close) {
        self.record_close(close);
        self.closing.store(true, Ordering::Release);
        let _ = self.outbound.push(Outbound::Finish);
    }

    fn record_close(&self, close: Close) {
        self.close_record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(close);
    }

    pub(crate) fn close_record(&self) -> Option<Close> {
        self.close_record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn terminate(&self) {
        self.closing.store(true, Ordering::Release);
        self.terminate_requested.store(true, Ordering::Release);
        self.outbound.wake();
    }

    pub(crate) fn terminate_requested(&self) -> bool {
        self.terminate_requested.load(Ordering::Acquire)
    }
}

/// A WebSocket peer reads its topics from cursors: a topic's entry is counted as owed when it is
/// published, and read from the log when the session gets to it.
impl Subscriber for PeerShared {
    fn id(&self) -> SubscriberId {
        self.id.subscriber()
    }

    fn offer(&self, entry: &Entry) -> Offer {
        if self.closing.load(Ordering::Acquire) {
            return Offer::Refused;
        }
        if self.reserve(entry_cost(entry)) {
            Offer::Taken
        } else {
            self.slow.store(true, Ordering::Release); // `dropped` closes it, outside the lock
            Offer::Refused
        }
    }

    fn withdraw(&self, entry: &Entry) {
        self.release(entry_cost(entry));
    }

    fn ready(&self, key: SubscriptionKey) {
        self.outbound.ready(key);
    }

    fn replay_budget(&self) -> Owed {
        Owed {
            bytes: self
                .max_buffered
                .saturating_sub(self.buffered.load(Ordering::Acquire)),
            entries: usize::MAX,
        }
    }

    fn start(&self, cursor: Cursor, owed: Owed) {
        self.buffered.fetch_add(owed.bytes, Ordering::AcqRel);
        // A push fails only once the session has ended, and then the peer leaves the topic.
        if self.outbound.push(Outbound::Subscribe(cursor)).is_err() {
            self.buffered.fetch_sub(owed.bytes, Ordering::AcqRel);
        }
    }

    fn dropped(&self) {
        if self.is_slow() {
            self.close_slow();
        }
    }
}

/// What a new peer starts with; see [`Peer::new`].
pub(crate) struct PeerParts {
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) headers: RequestHeaders,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) context: Option<Box<dyn Any + Send + Sync>>,
    pub(crate) max_buffered: usize,
    pub(crate) hub: Hub,
    pub(crate) peers: Arc<PeerSet>,
    pub(crate) namespace: Option<Arc<str>>,
}

/// One WebSocket connection: what hooks get to send, publish, subscribe and close with. Cheap to
/// clone; a clone kept after the connection closes still answers, and its sends fail with
/// [`SendError::Closed`].
#[derive(Clone)]
pub struct Peer {
    pub(crate) shared: Arc<PeerShared>,
}

impl Peer {
    pub(crate) fn new(parts: PeerParts) -> Peer {
        let outbound = Outbox::default();
        let shared = PeerShared {
            id: PeerId::next(),
            remote: parts.remote,
            headers: parts.headers,
            params: parts.params,
            context: parts.context,
            outbound,
            buffered: AtomicUsize::new(0),
            max_buffered: parts.max_buffered,
            closing: AtomicBool::new(false),
            slow: AtomicBool::new(false),
            terminate_requested: AtomicBool::new(false),
            topics: Mutex::default(),
            close_record: Mutex::new(None),
            hub: parts.hub,
            peers: parts.peers,
            namespace: parts.namespace,
        };
        Peer {
            shared: Arc::new(shared),
        }
    }

    /// Unique in this process; also what the peer's `Display` prints.
    pub fn id(&self) -> PeerId {
        self.shared.id
    }

    /// Sends a payload to this peer: text (`&str`, `String`) as a text frame, bytes (`Vec<u8>`,
    /// `&[u8]`, `Bytes`) as a binary frame, a received [`Message`](super::Message) as it came, a
    /// `serde_json::Value` as JSON text, any other `Serialize` value wrapped in
    /// [`Json`](crate::Json) (see [`IntoPayload`]). Never blocks.
    ///
    /// A failure is logged, not returned (crossws's `send` returns nothing either); use
    /// [`Peer::try_send`] to handle it.
    pub fn send(&self, payload: impl IntoPayload) {
        if let Err(e) = self.try_send(payload) {
            log_send_error(self.id(), &e);
        }
    }

    /// [`Peer::send`], returning why the payload was not queued.
    pub fn try_send(&self, payload: impl IntoPayload) -> Result<(), SendError> {
        let payload = payload.into_payload().map_err(SendError::Encode)?;
        self.shared.enqueue(payload)
    }

    /// Sends a payload to every subscriber of `topic` except this peer, which need not be
    /// subscribed itself. Publishing to a topic nobody subscribes to does nothing.
    pub fn publish(&self, topic: &str, payload: impl IntoPayload) {
        if let Err(e) = self.try_publish(topic, payload) {
            log_send_error(self.id(), &SendError::Encode(e));
        }
    }

    /// [`Peer::publish`], returning how many subscribers it reached.
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
    ) -> Result<usize, PayloadError> {
        self.publish_entry(topic, None, payload)
    }

    /// [`Peer::publish`], naming the event that event streams give the message
    /// ([`Hub::publish_event`]).
    pub fn publish_event(&self, topic: &str, event: &str, payload: impl IntoPayload) {
        if let Err(e) = self.publish_entry(topic, Some(event), payload) {
            log_send_error(self.id(), &SendError::Encode(e));
        }
    }

    fn publish_entry(
        &self,
        topic: &str,
        event: Option<&str>,
        payload: impl IntoPayload,
    ) -> Result<usize, PayloadError> {
        let publish = Publish {
            payload: payload.into_payload()?,
            origin: Some(self.id().subscriber()),
            event: event.map(Arc::from),
        };
        Ok(self.shared.hub.publish_entry(&self.scoped(topic), publish))
    }

    /// The hub's name for `topic`: in the route's namespace, if it has one.
    fn scoped<'a>(&self, topic: &'a str) -> std::borrow::Cow<'a, str> {
        scoped(self.shared.namespace.as_deref(), topic)
    }

    /// The route's namespace ([`Options::namespace`](super::Options::namespace)), if it has one.
    pub fn namespace(&self) -> Option<&str> {
        self.shared.namespace.as_deref()
    }

    /// Subscribes this peer to `topic`; subscribing twice is one subscription. A peer that is
    /// closing or closed cannot subscribe (it is logged at debug level).
    pub fn subscribe(&self, topic: &str) {
        self.subscribe_from(topic, None);
    }

    /// [`Peer::subscribe`], resuming a retained topic ([`Hub::retain`]) after `since`: an
    /// [`Offset`](crate::Offset) the page saw last (from [`WebSocketHandler::topic`], handed
    /// back in its reconnect URL, say). What the history holds after it is sent first, then what
    /// is published meanwhile and after, as one sequence, each message once. Further back than
    /// the history keeps (or than the peer's outbound limit holds at once), or from an offset
    /// that is not the topic's, the handler's [`WebSocketHandler::topic_gap`] is told first.
    /// `None` (or a topic that is not retained) subscribes from now on.
    ///
    /// [`WebSocketHandler::topic`]: super::WebSocketHandler::topic
    /// [`WebSocketHandler::topic_gap`]: super::WebSocketHandler::topic_gap
    pub fn subscribe_from(&self, topic: &str, since: Option<&str>) {
        self.subscribe_with(topic, since, None);
    }

    /// Subscribes to `topic` and joins its presence with `info` (any `Serialize` value, at most
    /// [`MAX_PRESENCE_INFO`](crate::presence::MAX_PRESENCE_INFO) bytes of JSON: a name, an
    /// avatar), which every member list and the join and leave events show. The topic must be
    /// tracked ([`Hub::track_presence`]); a plain [`Peer::subscribe`] to a tracked topic joins
    /// with `null`. Info that is too large or does not serialize is refused, and the peer does
    /// not subscribe. Joining a topic the peer is subscribed to already changes nothing.
    ///
    /// ```
    /// # use nitrous::ws::{Peer, WebSocketHandler};
    /// # struct Room;
    /// impl WebSocketHandler for Room {
    ///     async fn open(&self, peer: &Peer) {
    ///         let name = peer.param("name").to_owned();
    ///         if let Err(e) = peer.join("room:lobby", &serde_json::json!({ "name": name })) {
    ///             peer.send(e.to_string());
    ///         }
    ///     }
    /// }
    /// ```
    pub fn join(&self, topic: &str, info: &impl serde::Serialize) -> Result<(), PresenceError> {
        self.join_from(topic, None, info)
    }

    /// [`Peer::join`], resuming a retained topic after `since` as [`Peer::subscribe_from`] does.
    pub fn join_from(
        &self,
        topic: &str,
        since: Option<&str>,
        info: &impl serde::Serialize,
    ) -> Result<(), PresenceError> {
        if !self.shared.hub.tracks_presence(&self.scoped(topic)) {
            return Err(PresenceError::NotTracked(topic.to_owned()));
        }
        let info = encode_info(info)?;
        self.subscribe_with(topic, since, Some(Arc::from(info)));
        Ok(())
    }

    fn subscribe_with(&self, topic: &str, since: Option<&str>, info: Option<Arc<str>>) {
        let topic = &*self.scoped(topic);
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock that `end` takes to leave every topic: a peer is never left subscribed.
        if self.shared.is_closing() {
            tracing::debug!(peer = %self.id(), %topic, "nitrous: a closed peer cannot subscribe");
            return;
        }
        if !topics.insert(topic) {
            return;
        }
        let resume = Resume::from_client(since);
        self.shared
            .hub
            .join_from(topic, self.shared.clone(), resume, info);
    }

    /// Unsubscribes this peer from `topic` (and so leaves its presence, if it is tracked).
    pub fn unsubscribe(&self, topic: &str) {
        let topic = &*self.scoped(topic);
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.remove(topic);
        self.shared.hub.unsubscribe(topic, self.id().subscriber());
    }

    /// The topics this peer is subscribed to, in the order it subscribed.
    pub fn topics(&self) -> Vec<String> {
        self.shared
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|t| visible(t).to_owned())
            .collect()
    }

    /// Every open peer of the same route, this one included, ordered by id.
    pub fn peers(&self) -> Vec<Peer> {
        let peers = self.shared.peers.read().unwrap_or_else(|p| p.into_inner());
        let mut peers: Vec<Peer> = peers.values().cloned().collect();
        peers.sort_by_key(Peer::id);
        peers
    }

    /// Closes the connection with `code` and `reason` (the closing handshake); the `close` hook
    /// runs when it completes, told the same code and reason. Messages queued before are sent
    /// first. A reason longer than a close frame holds ([`CloseCode::MAX_REASON_BYTES`], 123
    /// bytes) is cut at a character's boundary. A second close does nothing.
    ///
    /// ```
    /// # use nitrous::ws::{CloseCode, Peer};
    /// # fn kick(peer: &Peer) {
    /// peer.close(CloseCode::POLICY_VIOLATION, "no spam, please");
    /// // an application's own code (3000-4999), checked at compile time:
    /// const KICKED: CloseCode = CloseCode::new(4001).unwrap();
    /// peer.close(KICKED, "kicked by a moderator");
    /// # }
    /// ```
    pub fn close(&self, code: CloseCode, reason: &str) {
        self.shared.close(code.get(), reason);
    }

    /// Drops the connection at once, without a closing handshake; the `close` hook gets 1006.
    pub fn terminate(&self) {
        self.shared.terminate();
    }

    /// The client's address, when the server was started with `nitrous::serve` (or axum's
    /// `into_make_service_with_connect_info::<SocketAddr>`).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.shared.remote
    }

    /// The headers of the upgrade request.
    pub fn headers(&self) -> &HeaderMap {
        self.shared.headers.map()
    }

    /// The route params, in path order: `[("room", "lobby")]` for `ws/[room].rs` at `/ws/lobby`.
    pub fn params(&self) -> &[(String, String)] {
        &self.shared.params
    }

    /// One route param by name: `peer.param("room")` in `ws/[room].rs`. The route guarantees
    /// it, and `routes!` rejects a name the file's path does not have.
    ///
    /// # Panics
    ///
    /// When the route has no param `name` (a router assembled by hand, or a name computed at run
    /// time); [`Peer::params`] lists them.
    pub fn param(&self, name: &str) -> &str {
        param(&self.shared.params, name)
    }

    /// The context the `upgrade` hook attached with [`Upgrade::context`](super::Upgrade::context),
    /// if it is a `T` (`None` when it attached none, or a value of another type).
    pub fn context<T: Any>(&self) -> Option<&T> {
        self.shared
            .context
            .as_ref()
            .and_then(|c| c.downcast_ref::<T>())
    }

    /// How far behind this peer is, in bytes: what was sent or published to it and not yet handed
    /// to the socket, each message with its entry's overhead (what
    /// [`Options::max_buffered`](super::Options::max_buffered) bounds). 0 once the session ended.
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered.load(Ordering::Acquire)
    }

    /// The hub this peer publishes through.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }
}

fn log_send_error(peer: PeerId, error: &SendError) {
    match error {
        SendError::Closed => tracing::debug!(%peer, "nitrous: dropped a send to a closed peer"),
        SendError::SlowConsumer => {} // logged once where the peer is closed
        SendError::Encode(e) => tracing::error!(%peer, "nitrous: cannot send: {e}"),
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.id().fmt(f)
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("id", &self.id())
            .field("remote", &self.shared.remote)
            .field("buffered", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}
