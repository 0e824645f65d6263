//! Server-Sent Events: [`EventStream`], the counterpart of h3's `createEventStream`.
//!
//! ```
//! use nitrous::sse::{Event, EventStream};
//!
//! // src/server/routes/clock.rs  ->  GET /api/clock, text/event-stream
//! #[nitrous::sse]
//! pub async fn clock() -> EventStream {
//!     let stream = EventStream::new();
//!     let tx = stream.clone();
//!     tokio::spawn(async move {
//!         let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
//!         loop {
//!             tick.tick().await;
//!             if tx.push(Event::data("tick").event("clock")).await.is_err() {
//!                 break; // the client went away: on_closed has run
//!             }
//!         }
//!     });
//!     stream
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::Notify;

use crate::hub::{Cursor, Entry, Hub, Offer, Subscriber, SubscriberId};
use crate::shutdown::Shutdown;

/// How often an idle stream sends a keep-alive comment, unless set with
/// [`EventStream::keep_alive`]: often enough for proxies that drop quiet connections after 30 s or
/// more, and to notice a vanished client.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many events may wait for a slow client before `push` waits (and a topic delivery, which
/// cannot wait, closes the stream), unless set with [`EventStream::max_buffered_events`].
pub const BUFFERED_EVENTS: usize = 256;

/// How many bytes of events may wait for a slow client, by the same rule, unless set with
/// [`EventStream::max_buffered_bytes`]. One event always fits a stream that has caught up,
/// whatever its size.
pub const BUFFERED_BYTES: usize = 16 << 20;

/// The event name a resumed stream gets when its `Last-Event-ID` is older than the topic's replay
/// buffer: events were missed, and the client should reload its state.
pub const REPLAY_GAP_EVENT: &str = "nitrous-replay-gap";

/// One event: data (one `data:` line per line), and optionally `id`, `event` and `retry`; or a
/// comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    id: Option<String>,
    event: Option<String>,
    retry: Option<Duration>,
    data: Option<String>,
    comment: Option<String>,
}

impl Event {
    /// An event carrying `data`; a multi-line string becomes one `data:` line per line.
    pub fn data(data: impl Into<String>) -> Event {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// An event whose data is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Event, serde_json::Error> {
        Ok(Event::data(serde_json::to_string(value)?))
    }

    /// A comment line (`: text`), which clients ignore.
    pub fn comment(text: impl Into<String>) -> Event {
        Event {
            comment: Some(text.into()),
            ..Event::default()
        }
    }

    /// The event's id; a reconnecting client sends the last one back as `Last-Event-ID`.
    pub fn id(mut self, id: impl Into<String>) -> Event {
        self.id = Some(id.into());
        self
    }

    /// The event's name (a client's `addEventListener(name, ...)`); unnamed events are `message`.
    pub fn event(mut self, name: impl Into<String>) -> Event {
        self.event = Some(name.into());
        self
    }

    /// How long a client waits before reconnecting.
    pub fn retry(mut self, after: Duration) -> Event {
        self.retry = Some(after);
        self
    }

    /// The wire format. Line breaks in `id` and `event` would end the field early, so they are
    /// replaced by spaces.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.fields().encode_into(&mut out);
        out.freeze()
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            comment: self.comment.as_deref(),
            id: self.id.as_deref(),
            event: self.event.as_deref(),
            retry: self.retry,
            data: self.data.as_deref(),
        }
    }
}

/// An event's fields, borrowed: a topic delivery encodes the publish's text without copying it
/// into an [`Event`] first.
#[derive(Default)]
struct Fields<'a> {
    comment: Option<&'a str>,
    id: Option<&'a str>,
    event: Option<&'a str>,
    retry: Option<Duration>,
    data: Option<&'a str>,
}

impl Fields<'_> {
    /// Appends the wire format to `out` (one reservation for the common case).
    fn encode_into(&self, out: &mut BytesMut) {
        let text = |field: Option<&str>| field.map_or(0, str::len);
        out.reserve(text(self.comment) + text(self.id) + text(self.event) + text(self.data) + 32);
        if let Some(comment) = self.comment {
            for line in lines(comment) {
                out.put_slice(b": ");
                out.put_slice(line.as_bytes());
                out.put_u8(b'\n');
            }
        }
        if let Some(id) = self.id {
            field(out, "id", &single_line(id));
        }
        if let Some(event) = self.event {
            field(out, "event", &single_line(event));
        }
        if let Some(retry) = self.retry {
            field(out, "retry", &retry.as_millis().to_string());
        }
        if let Some(data) = self.data {
            for line in lines(data) {
                field(out, "data", line);
            }
        }
        out.put_u8(b'\n');
    }
}

impl From<&str> for Event {
    fn from(data: &str) -> Event {
        Event::data(data)
    }
}

impl From<String> for Event {
    fn from(data: String) -> Event {
        Event::data(data)
    }
}

fn field(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_u8(b'\n');
}

/// Lines split as the SSE format splits them: on `\r\n`, `\n` or `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
}

fn single_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Pushing to a stream whose client has gone, or that was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamClosed;

impl fmt::Display for StreamClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event stream is closed")
    }
}

impl std::error::Error for StreamClosed {}

/// A stream of events to one client: clone it into tasks and `push`; return it from a
/// `#[nitrous::sse]` function. Served with `content-type: text/event-stream`,
/// `cache-control: no-cache` and `x-accel-buffering: no`.
#[derive(Clone)]
pub struct EventStream {
    shared: Arc<Shared>,
}

struct Shared {
    id: SubscriberId,
    queue: Mutex<Queue>,
    /// Pushes waiting for room.
    room: Notify,
    /// The response was made (an event stream answers one request).
    served: AtomicBool,
    closed: AtomicBool,
    closed_notify: Notify,
    on_closed: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    keep_alive: Mutex<Option<Duration>>,
    shutdown: Mutex<Option<Shutdown>>,
    topics: Mutex<Vec<(Hub, Arc<str>)>>,
}

impl Default for EventStream {
    fn default() -> Self {
        EventStream::new()
    }
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.shared.id)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl EventStream {
    pub fn new() -> EventStream {
        EventStream {
            shared: Arc::new(Shared {
                id: SubscriberId::next(),
                queue: Mutex::new(Queue::default()),
                room: Notify::new(),
                served: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                closed_notify: Notify::new(),
                on_closed: Mutex::new(Vec::new()),
                keep_alive: Mutex::new(Some(DEFAULT_KEEP_ALIVE)),
                shutdown: Mutex::new(None),
                topics: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Sends an event (or plain text as its data). Waits while [`BUFFERED_EVENTS`] (or
    /// [`BUFFERED_BYTES`]) are queued for a slow client; fails with [`StreamClosed`] once the client is gone or the stream closed,
    /// never blocking forever.
    pub async fn push(&self, event: impl Into<Event>) -> Result<(), StreamClosed> {
        let event = event.into();
        loop {
            if self.is_closed() {
                return Err(StreamClosed);
            }
            if self.shared.enqueue(&event.fields()) {
                return Ok(());
            }
            // Full: wait for the response to take what is queued, or for the end.
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable(); // registered before the check, so no wake-up is missed
            if self.shared.has_room() {
                continue;
            }
            tokio::select! {
                () = room => {}
                () = self.closed() => return Err(StreamClosed),
            }
        }
    }

    /// [`EventStream::push`] of `value` as JSON data.
    pub async fn push_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), StreamClosed> {
        match Event::json(value) {
            Ok(event) => self.push(event).await,
            Err(e) => {
                tracing::error!("nitrous: cannot push an event: {e}");
                Err(StreamClosed)
            }
        }
    }

    /// Sends a comment (`: text`).
    pub async fn comment(&self, text: impl Into<String>) -> Result<(), StreamClosed> {
        self.push(Event::comment(text)).await
    }

    /// Runs `callback` once, when the client goes away or the stream is closed (at once if it
    /// already is).
    pub fn on_closed(&self, callback: impl FnOnce() + Send + 'static) {
        let mut callbacks = self
            .shared
            .on_closed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if self.is_closed() {
            drop(callbacks);
            callback();
        } else {
            callbacks.push(Box::new(callback));
        }
    }

    /// Resolves when the client has gone or the stream was closed.
    pub async fn closed(&self) {
        closed(&self.shared).await;
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Ends the stream: events already pushed are sent, then the response ends; `on_closed` runs.
    pub fn close(&self) {
        self.shared.shut();
    }

    /// How many events may wait for this client (default [`BUFFERED_EVENTS`], 256), at least 1.
    pub fn max_buffered_events(self, events: usize) -> EventStream {
        self.shared.lock_queue().max_events = events.max(1);
        self
    }

    /// How many bytes of events may wait for this client (default [`BUFFERED_BYTES`], 16 MiB).
    pub fn max_buffered_bytes(self, bytes: usize) -> EventStream {
        self.shared.lock_queue().max_bytes = bytes;
        self
    }

    /// Sets the keep-alive comment interval; `None` turns keep-alives off.
    pub fn keep_alive(self, interval: Option<Duration>) -> EventStream {
        *self
            .shared
            .keep_alive
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = interval;
        self
    }

    /// Delivers every publish on `topic` (from peers, HTTP handlers or tasks) to this client, as
    /// events whose data is the payload's text. A retained topic's events carry ids.
    pub fn subscribe(&self, hub: &Hub, topic: &str) {
        self.subscribe_from(hub, topic, None);
    }

    /// [`EventStream::subscribe`], first replaying what a reconnecting client missed after
    /// `last_event_id` (its `Last-Event-ID`), from the topic's replay buffer
    /// ([`Hub::retain`]). A client further behind than the buffer gets a [`REPLAY_GAP_EVENT`]
    /// event first, then what the buffer holds.
    pub fn subscribe_from(&self, hub: &Hub, topic: &str, last_event_id: Option<&str>) {
        if self.is_closed() {
            return;
        }
        self.shared
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((hub.clone(), Arc::from(topic)));
        let last = last_event_id.map(|id| id.trim().parse::<u64>().ok());
        hub.subscribe_with_replay(topic, self.shared.clone(), last);
    }

    /// Attaches the server's shutdown signal (the `#[nitrous::sse]` wrapper does this), so the
    /// response ends when the server shuts down.
    #[doc(hidden)]
    pub fn __with_shutdown(self, shutdown: Option<Shutdown>) -> EventStream {
        *self
            .shared
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = shutdown;
        self
    }
}

impl Shared {
    /// Closes once: unsubscribes, wakes `closed()`, runs the callbacks.
    fn shut(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        for (hub, topic) in
            std::mem::take(&mut *self.topics.lock().unwrap_or_else(|p| p.into_inner()))
        {
            hub.unsubscribe(&topic, self.id);
        }
        self.closed_notify.notify_waiters();
        self.room.notify_waiters();
        self.wake_reader();
        let callbacks =
            std::mem::take(&mut *self.on_closed.lock().unwrap_or_else(|p| p.into_inner()));
        for callback in callbacks {
            callback();
        }
    }
}

/// An event stream takes a topic's entries as they are published, encoding each into its queue.
impl Subscriber for Shared {
    fn id(&self) -> SubscriberId {
        self.id
    }

    fn offer(&self, entry: &Entry) -> Offer {
        let data = entry.payload.to_text_lossy();
        let id = entry.numbered.then(|| entry.seq.to_string());
        self.offer_event(&Fields {
            id: id.as_deref(),
            data: Some(&data),
            ..Fields::default()
        })
    }

    fn wake(&self) {
        self.wake_reader();
    }

    fn start(&self, _topic: &Arc<str>, _cursor: Cursor) {
        // Entries come through `offer`; the cursor would only keep them alive.
    }

    fn dropped(&self) {
        if !self.closed.load(Ordering::Acquire) {
            tracing::warn!(stream = %self.id, "nitrous: closing an event stream that fell too far behind (its queue is full)");
            self.shut();
        }
    }

    fn gap(&self, missed_from: u64, resumed_at: u64) {
        let data = format!("{{\"missed_from\":{missed_from},\"resumed_at\":{resumed_at}}}");
        let _ = self.offer_event(&Fields {
            event: Some(REPLAY_GAP_EVENT),
            data: Some(&data),
            ..Fields::default()
        });
    }
}

impl Shared {
    /// A topic delivery cannot wait: a client whose queue is full is refused, and the topic
    /// closes it (through `dropped`) rather than skip events silently.
    fn offer_event(&self, event: &Fields<'_>) -> Offer {
        if !self.closed.load(Ordering::Acquire) && self.encode(event) {
            Offer::Taken
        } else {
            Offer::Refused
        }
    }

    /// Encodes `event` onto the queue and wakes the response, unless the queue is full.
    fn enqueue(&self, event: &Fields<'_>) -> bool {
        let queued = self.encode(event);
        if queued {
            self.wake_reader();
        }
        queued
    }

    /// Encodes `event` onto the queue unless it is full: as many events as it may hold wait
    /// already, or the event would take a queue that is not empty past its bytes.
    fn encode(&self, event: &Fields<'_>) -> bool {
        let mut queue = self.lock_queue();
        if queue.events >= queue.max_events {
            return false;
        }
        let before = queue.bytes.len();
        event.encode_into(&mut queue.bytes);
        if before > 0 && queue.bytes.len() > queue.max_bytes {
            queue.bytes.truncate(before);
            return false;
        }
        queue.events += 1;
        true
    }

    fn has_room(&self) -> bool {
        let queue = self.lock_queue();
        queue.events < queue.max_events && queue.bytes.len() < queue.max_bytes
    }

    fn wake_reader(&self) {
        let reader = self.lock_queue().reader.take();
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Events pushed and not yet taken by the response, already encoded: the response takes them
/// all as one chunk, so a burst costs one write.
struct Queue {
    bytes: BytesMut,
    events: usize,
    max_events: usize,
    max_bytes: usize,
    /// The response body's waker, while it waits for events.
    reader: Option<Waker>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            bytes: BytesMut::new(),
            events: 0,
            max_events: BUFFERED_EVENTS,
            max_bytes: BUFFERED_BYTES,
            reader: None,
        }
    }
}

/// Closes the stream when the response body is dropped: the client went away.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.shut();
    }
}

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        if self.shared.served.swap(true, Ordering::AcqRel) {
            tracing::error!(
                "nitrous: an EventStream was returned twice; it can answer one request"
            );
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this event stream is already being served",
            )
                .into_response();
        };
        let keep_alive = *self
            .shared
            .keep_alive
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let shutdown = self
            .shared
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let body = EventBody::new(CloseOnDrop(self.shared.clone()), keep_alive, shutdown);
        let mut response = Body::from_stream(body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}

const KEEP_ALIVE_COMMENT: &[u8] = b":\n\n";

/// The response body: queued events as one chunk, a keep-alive comment when idle, and the end
/// when the stream closes (after what was queued) or the server shuts down.
struct EventBody {
    guard: CloseOnDrop,
    keep_alive: Option<tokio::time::Interval>,
    /// Resolves when the server starts shutting down.
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    ended: bool,
}

impl EventBody {
    fn new(guard: CloseOnDrop, keep_alive: Option<Duration>, shutdown: Option<Shutdown>) -> Self {
        let keep_alive = keep_alive.map(|every| {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        let shutdown = shutdown.map(|mut shutdown| {
            Box::pin(async move { shutdown.started().await })
                as Pin<Box<dyn Future<Output = ()> + Send>>
        });
        EventBody {
            guard,
            keep_alive,
            shutdown,
            ended: false,
        }
    }

    /// Everything queued, as one chunk; the waker is registered when there is nothing.
    fn take_queued(&mut self, cx: &mut Context<'_>) -> Option<Bytes> {
        let shared = &self.guard.0;
        let chunk = {
            let mut queue = shared.lock_queue();
            if queue.bytes.is_empty() {
                match &queue.reader {
                    Some(known) if known.will_wake(cx.waker()) => {}
                    _ => queue.reader = Some(cx.waker().clone()),
                }
                return None;
            }
            queue.events = 0;
            queue.bytes.split().freeze()
        };
        shared.room.notify_waiters();
        Some(chunk)
    }
}

impl Stream for EventBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(chunk) = self.take_queued(cx) {
            // Any event resets the keep-alive clock: comments are only for idle streams.
            if let Some(keep_alive) = &mut self.keep_alive {
                keep_alive.reset();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if self.guard.0.closed.load(Ordering::Acquire) {
            // Pushed before the close, and queued after the look above: still sent.
            let last = self.take_queued(cx);
            self.ended = true;
            return Poll::Ready(last.map(Ok));
        }
        if let Some(shutdown) = &mut self.shutdown
            && shutdown.as_mut().poll(cx).is_ready()
        {
            self.ended = true;
            return Poll::Ready(None);
        }
        if let Some(keep_alive) = &mut self.keep_alive
            && keep_alive.poll_tick(cx).is_ready()
        {
            return Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE_COMMENT))));
        }
        Poll::Pending
    }
}

async fn closed(shared: &Shared) {
    loop {
        let notified = shared.closed_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

/// The request's `Last-Event-ID` header: what a reconnecting client saw last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(LastEventId(id))
    }
}

/// What a `#[nitrous::sse]` function may return: an [`EventStream`], or any `Stream` of
/// [`Event`]s.
pub trait IntoEventStream {
    fn into_event_stream(self) -> EventStream;
}

impl IntoEventStream for EventStream {
    fn into_event_stream(self) -> EventStream {
        self
    }
}

impl<S> IntoEventStream for S
where
    S: Stream<Item = Event> + Send + 'static,
{
    fn into_event_stream(self) -> EventStream {
        let stream = EventStream::new();
        let tx = stream.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(self);
            loop {
                tokio::select! {
                    event = events.next() => match event {
                        Some(event) => if tx.push(event).await.is_err() { break },
                        None => { tx.close(); break }
                    },
                    () = tx.closed() => break,
                }
            }
        });
        stream
    }
}

/// The server's shutdown signal, for the `#[nitrous::sse]` wrapper.
#[doc(hidden)]
#[derive(Debug)]
pub struct ShutdownSignal(pub Option<Shutdown>);

impl<S: Send + Sync> FromRequestParts<S> for ShutdownSignal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ShutdownSignal(parts.extensions.get::<Shutdown>().cloned()))
    }
}

/// Called by the `#[nitrous::sse]` wrapper.
#[doc(hidden)]
pub fn respond<T: IntoEventStream>(value: T, shutdown: ShutdownSignal) -> Response {
    value
        .into_event_stream()
        .__with_shutdown(shutdown.0)
        .into_response()
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn frame(body: &mut Body) -> String {
        let frame = body.frame().await.expect("a frame").expect("no error");
        String::from_utf8(frame.into_data().expect("data").to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_comments_come_on_the_interval_only_when_idle() {
        let stream = EventStream::new().keep_alive(Some(Duration::from_secs(10)));
        let tx = stream.clone();
        let mut body = stream.into_response().into_body();
        let start = tokio::time::Instant::now();
        assert_eq!(frame(&mut body).await, ":\n\n");
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(4)).await;
        tx.push("x").await.unwrap();
        assert_eq!(frame(&mut body).await, "data: x\n\n");
        let pushed = tokio::time::Instant::now();
        assert_eq!(frame(&mut body).await, ":\n\n");
        assert_eq!(
            pushed.elapsed(),
            Duration::from_secs(10),
            "an event resets the keep-alive clock"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_keep_alive_is_documented() {
        let mut body = EventStream::new().into_response().into_body();
        let start = tokio::time::Instant::now();
        assert_eq!(frame(&mut body).await, ":\n\n");
        assert_eq!(start.elapsed(), DEFAULT_KEEP_ALIVE);
    }

    #[tokio::test]
    async fn pushing_after_close_is_an_error_not_a_panic_or_a_hang() {
        let stream = EventStream::new();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        stream.on_closed(move || flag.store(true, Ordering::SeqCst));
        stream.close();
        assert!(ran.load(Ordering::SeqCst));
        assert_eq!(stream.push("late").await, Err(StreamClosed));
        stream.closed().await; // resolves at once
        let late = Arc::new(AtomicBool::new(false));
        let flag = late.clone();
        stream.on_closed(move || flag.store(true, Ordering::SeqCst));
        assert!(late.load(Ordering::SeqCst), "a late on_closed runs at once");
    }

    #[tokio::test]
    async fn a_dropped_body_closes_the_stream_and_wakes_a_waiting_push() {
        let stream = EventStream::new().keep_alive(None);
        let body = stream.clone().into_response().into_body();
        for _ in 0..BUFFERED_EVENTS {
            stream.push("fill").await.unwrap();
        }
        let blocked = tokio::spawn({
            let stream = stream.clone();
            async move { stream.push("one too many").await }
        });
        drop(body);
        assert_eq!(blocked.await.unwrap(), Err(StreamClosed));
        assert!(stream.is_closed());
    }

    #[tokio::test(start_paused = true)]
    async fn one_event_fits_an_empty_queue_and_the_bytes_bound_the_rest() {
        let stream = EventStream::new().keep_alive(None).max_buffered_bytes(100);
        let mut body = stream.clone().into_response().into_body();
        let big = "b".repeat(1000);
        stream
            .push(big.as_str())
            .await
            .expect("fits an empty queue");
        let waiting = tokio::spawn({
            let stream = stream.clone();
            async move { stream.push("next").await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a full queue makes push wait");
        assert_eq!(frame(&mut body).await, format!("data: {big}\n\n"));
        waiting.await.unwrap().expect("room again once taken");
        assert_eq!(frame(&mut body).await, "data: next\n\n");
    }

    #[tokio::test]
    async fn a_topic_delivery_to_a_full_stream_closes_it() {
        let hub = Hub::new();
        let stream = EventStream::new().keep_alive(None).max_buffered_events(2);
        let _body = stream.clone().into_response().into_body();
        stream.subscribe(&hub, "t");
        assert_eq!(hub.publish("t", "1").unwrap(), 1);
        assert_eq!(hub.publish("t", "2").unwrap(), 1);
        assert!(!stream.is_closed());
        assert_eq!(
            hub.publish("t", "3").unwrap(),
            0,
            "refused: nothing is skipped silently"
        );
        assert!(stream.is_closed());
        assert_eq!(hub.subscriber_count("t"), 0);
    }

    #[test]
    fn event_encoding() {
        assert_eq!(&Event::data("a\nb").encode()[..], b"data: a\ndata: b\n\n");
        assert_eq!(&Event::data("").encode()[..], b"data: \n\n");
        assert_eq!(
            &Event::comment("hi\nthere").encode()[..],
            b": hi\n: there\n\n"
        );
        let full = Event::data("d")
            .id("1")
            .event("e")
            .retry(Duration::from_secs(3));
        assert_eq!(
            &full.encode()[..],
            b"id: 1\nevent: e\nretry: 3000\ndata: d\n\n"
        );
        assert_eq!(
            &Event::json(&[1, 2]).unwrap().encode()[..],
            b"data: [1,2]\n\n"
        );
    }
}
