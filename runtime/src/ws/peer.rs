//! [`Peer`]: one WebSocket connection, as hooks see it.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::Waker;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::VecDeque;

use super::Close;
use crate::hub::{Cursor, Entry, Hub, Offer, Subscriber, SubscriberId, next_stamp};
use crate::payload::{IntoPayload, Payload, PayloadError};
use crate::shutdown::Closer;

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

/// What the session writes, in queue order (each item stamped with [`next_stamp`], so the session
/// can merge it with what its topics hold).
pub(crate) enum Outbound {
    /// A data frame's payload, counted in the buffered amount until written.
    Frame(Payload),
    Ping,
    /// A close frame; the session sends it, flushes, and writes nothing more.
    Close(u16, String),
    /// The client closed: flush tungstenite's reply to its close frame, then write nothing more.
    Finish,
    /// The peer subscribed to a topic: read its entries from this cursor on.
    Subscribe(Cursor),
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
pub const SLOW_CONSUMER_CODE: u16 = 1008;
/// The close reason a slow consumer gets.
pub const SLOW_CONSUMER_REASON: &str = "slow consumer: outbound buffer full";

/// The peers connected to one route.
pub(crate) type PeerSet = RwLock<HashMap<PeerId, Peer>>;

/// When the server shuts down, every peer of the route closes with 1001.
impl Closer for PeerSet {
    fn shut_down(&self) {
        for peer in self.read().unwrap_or_else(|p| p.into_inner()).values() {
            peer.close(GOING_AWAY, "server shutting down");
        }
    }
}

/// The close code of a server shutting down.
pub(crate) const GOING_AWAY: u16 = 1001;

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
    topics: Mutex<Vec<Arc<str>>>,
    /// How the connection closed, first word wins: the close we sent, or the client's.
    close_record: Mutex<Option<Close>>,
    hub: Hub,
    pub(crate) peers: Arc<PeerSet>,
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
        self.slow.store(true, Ordering::Release);
        if !self.is_closing() {
            tracing::warn!(peer = %self.id, buffered = self.buffered.load(Ordering::Acquire), limit = self.max_buffered, "nitrous: closing a slow consumer");
        }
        self.close(SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON);
    }

    /// Closed as a slow consumer: what is queued will not be written.
    pub(crate) fn is_slow(&self) -> bool {
        self.slow.load(Ordering::Acquire)
    }

    /// Called by the session once a frame (queued, or a topic's) has gone to the socket.
    pub(crate) fn written(&self, payload: &Payload) {
        self.buffered.fetch_sub(cost(payload), Ordering::AcqRel);
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
        let topics = self
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for topic in topics {
            self.hub.unsubscribe(&topic, self.id.subscriber());
        }
        // After every topic let go: none offers it anything more.
        self.buffered.store(0, Ordering::Release);
    }

    pub(crate) fn ping(&self) {
        let _ = self.outbound.push(Outbound::Ping);
    }

    /// Starts the closing handshake, once; later sends fail with [`SendError::Closed`].
    pub(crate) fn close(&self, code: u16, reason: &str) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
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
        if self.reserve(cost(&entry.payload)) {
            Offer::Taken
        } else {
            self.slow.store(true, Ordering::Release); // `dropped` closes it, outside the lock
            Offer::Refused
        }
    }

    fn wake(&self) {
        self.outbound.wake();
    }

    fn start(&self, _topic: &Arc<str>, cursor: Cursor) {
        // A push fails only once the session has ended, and then the peer leaves the topic.
        let _ = self.outbound.push(Outbound::Subscribe(cursor));
    }

    fn dropped(&self) {
        if self.is_slow() {
            self.close_slow();
        }
    }
}

/// What a queued payload counts against `max_buffered`: its bytes and its queue entry (a chat
/// of 35-byte messages costs about twice its payload bytes, not once).
pub(crate) fn cost(payload: &Payload) -> usize {
    payload.len() + ENTRY_COST
}

/// A queue entry's own size, plus the frame header it becomes on the wire.
const ENTRY_COST: usize = std::mem::size_of::<Outbound>() + 14;

/// The peer's outbound queue: a plain deque that allocates only once something is queued (an idle
/// connection pays for none), and the session's waker under the same lock, so a push costs one
/// lock and wakes the session only when it waits.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Something is queued: lets the session skip the lock when it is not (most of its looks).
    /// Set and cleared under the lock.
    queued: AtomicBool,
    /// The session writes nothing more: a push now would never be sent.
    stopped: AtomicBool,
}

#[derive(Default)]
struct Queue {
    /// Stamped, in stamp order (each stamp is taken under the lock).
    items: VecDeque<(u64, Outbound)>,
    /// The peer has subscribed to a topic: items from then on need a stamp to be merged with the
    /// topics' entries. Before, they are stamped 0 (they come before every entry it will read),
    /// which spares a peer that never subscribes the shared counter.
    stamped: bool,
    /// The waiting session's waker; taken by the push that wakes it.
    waker: Option<Waker>,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, item: Outbound) -> Result<(), SendError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        let waker = {
            let mut queue = self.lock();
            queue.stamped |= matches!(item, Outbound::Subscribe(_));
            let stamp = if queue.stamped { next_stamp() } else { 0 };
            queue.items.push_back((stamp, item));
            self.queued.store(true, Ordering::Release);
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Wakes the session if it waits.
    pub(crate) fn wake(&self) {
        let waker = self.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The session is about to wait: the next push (or [`Outbox::wake`]) wakes `waker`.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut queue = self.lock();
        match &queue.waker {
            Some(known) if known.will_wake(waker) => {}
            _ => queue.waker = Some(waker.clone()),
        }
    }

    /// The session is busy (running a hook) and drains the queue afterwards: pushes need not
    /// wake it.
    pub(crate) fn unregister(&self) {
        let waker = self.lock().waker.take();
        drop(waker);
    }

    /// Moves everything queued into `batch` (which the caller has emptied), in one lock. A push
    /// that this misses was made after the caller registered its waker, and wakes it.
    pub(crate) fn take_all(&self, batch: &mut VecDeque<(u64, Outbound)>) {
        if !self.queued.load(Ordering::Acquire) {
            return;
        }
        let mut queue = self.lock();
        std::mem::swap(&mut queue.items, batch);
        self.queued.store(false, Ordering::Release);
    }

    /// Nothing more will be written: later pushes fail and what is queued is dropped.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let items = {
            let mut queue = self.lock();
            self.queued.store(false, Ordering::Release);
            std::mem::take(&mut queue.items)
        };
        drop(items);
    }

    /// The session has ended: it is stopped, and a waker it left registered (which would keep
    /// the task's memory alive for as long as a `Peer` clone does) is dropped.
    pub(crate) fn detach(&self) {
        self.stop();
        let waker = self.lock().waker.take();
        drop(waker);
    }
}

/// The upgrade request's headers, kept compactly: one buffer of `name:value\n` lines, turned into a
/// [`HeaderMap`] the first time [`Peer::headers`] asks. A `HeaderMap` of a browser's handshake
/// costs about 1 KiB per connection; most peers are never asked.
pub(crate) struct RequestHeaders {
    raw: Box<[u8]>,
    map: std::sync::OnceLock<Box<HeaderMap>>,
}

impl RequestHeaders {
    pub(crate) fn new(headers: &HeaderMap) -> RequestHeaders {
        let size = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut raw = Vec::with_capacity(size);
        for (name, value) in headers {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.push(b':');
            raw.extend_from_slice(value.as_bytes());
            raw.push(b'\n');
        }
        RequestHeaders {
            raw: raw.into_boxed_slice(),
            map: std::sync::OnceLock::new(),
        }
    }

    fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            // Header names hold no `:` and values no `\n` (both are refused by `http`), so the
            // lines split back exactly.
            let mut map = HeaderMap::new();
            for line in self.raw.split(|b| *b == b'\n') {
                let Some(colon) = line.iter().position(|b| *b == b':') else {
                    continue;
                };
                let name = HeaderName::from_bytes(&line[..colon]);
                let value = HeaderValue::from_bytes(&line[colon + 1..]);
                if let (Ok(name), Ok(value)) = (name, value) {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
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
            topics: Mutex::new(Vec::new()),
            close_record: Mutex::new(None),
            hub: parts.hub,
            peers: parts.peers,
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
        let payload = payload.into_payload()?;
        Ok(self
            .shared
            .hub
            .publish_payload(topic, payload, Some(self.id().subscriber())))
    }

    /// Subscribes this peer to `topic`; subscribing twice is one subscription. A peer that is
    /// closing or closed cannot subscribe (it is logged at debug level).
    pub fn subscribe(&self, topic: &str) {
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock that `end` takes to leave every topic: a peer is never left subscribed.
        if self.shared.is_closing() {
            tracing::debug!(peer = %self.id(), %topic, "nitrous: a closed peer cannot subscribe");
            return;
        }
        if topics.iter().any(|t| &**t == topic) {
            return;
        }
        topics.push(Arc::from(topic));
        self.shared.hub.subscribe(topic, self.shared.clone());
    }

    /// Unsubscribes this peer from `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.retain(|t| &**t != topic);
        self.shared.hub.unsubscribe(topic, self.id().subscriber());
    }

    /// The topics this peer is subscribed to, in the order it subscribed.
    pub fn topics(&self) -> Vec<String> {
        self.shared
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|t| t.to_string())
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
    /// runs when it completes. Messages queued before are sent first.
    pub fn close(&self, code: u16, reason: &str) {
        self.shared.close(code, reason);
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

    /// One route param by name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.shared
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The context the `upgrade` hook attached with [`super::Upgrade::context`], if it is a `T`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_come_back_whole_and_in_order() {
        let mut original = HeaderMap::new();
        original.append("host", HeaderValue::from_static("example.com:8080"));
        original.append("cookie", HeaderValue::from_static("a=1"));
        original.append(
            "x-custom",
            HeaderValue::from_static("colons: here: too\ttab"),
        );
        original.append("cookie", HeaderValue::from_static("b=2"));
        original.append("x-empty", HeaderValue::from_static(""));
        original.append(
            "x-bytes",
            HeaderValue::from_bytes(b"caf\xc3\xa9 \xff").expect("obs-text is a valid value"),
        );

        let kept = RequestHeaders::new(&original);
        let map = kept.map();

        assert_eq!(map, &original);
        let cookies: Vec<_> = map.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(map["x-custom"], "colons: here: too\ttab");
        assert_eq!(map["x-empty"], "");
        assert!(std::ptr::eq(map, kept.map()), "built once");
    }

    /// The outbox's wake-up protocol under contention: a waiting session must never miss a push
    /// (a lost wake-up would hang this test until its timeout).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pushes_from_other_threads_always_wake_a_waiting_session() {
        const THREADS: usize = 4;
        const EACH: usize = 20_000;
        let outbox = Arc::new(Outbox::default());
        let producers: Vec<_> = (0..THREADS)
            .map(|_| {
                let outbox = outbox.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        outbox.push(Outbound::Ping).expect("not stopped");
                        if i % 64 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumer = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut batch = VecDeque::new();
                let mut seen = 0;
                std::future::poll_fn(|cx| {
                    loop {
                        outbox.register(cx.waker());
                        outbox.take_all(&mut batch);
                        if batch.is_empty() {
                            break;
                        }
                        seen += batch.len();
                        batch.clear();
                        // Now and then, play a hook that runs without being woken.
                        outbox.unregister();
                    }
                    if seen == THREADS * EACH {
                        std::task::Poll::Ready(())
                    } else {
                        std::task::Poll::Pending
                    }
                })
                .await;
            })
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), consumer)
            .await
            .expect("every push was seen: no wake-up was lost")
            .expect("consumer task");
        for producer in producers {
            producer.join().expect("producer thread");
        }
    }

    proptest::proptest! {
        /// Whatever valid headers an upgrade carries come back whole from the compact copy.
        #[test]
        fn any_request_headers_come_back_whole(
            headers in proptest::collection::vec(
                ("[a-z0-9!#$%&'*+.^_`|~-]{1,12}", proptest::collection::vec(
                    proptest::prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, proptest::strategy::Just(b'\t')], 0..24)),
                0..12,
            ),
        ) {
            let mut original = HeaderMap::new();
            for (name, value) in &headers {
                let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
                let Ok(value) = HeaderValue::from_bytes(value) else { continue };
                original.append(name, value);
            }
            let kept = RequestHeaders::new(&original);
            proptest::prop_assert_eq!(kept.map(), &original);
        }
    }

    #[test]
    fn no_headers_cost_nothing() {
        let kept = RequestHeaders::new(&HeaderMap::new());
        assert!(kept.raw.is_empty());
        assert!(kept.map().is_empty());
    }
}
