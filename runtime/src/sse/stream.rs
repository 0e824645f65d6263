//! [`EventStream`]: the handle an app pushes through, its queue of encoded events, and its side of
//! the hub's topics.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use bytes::BytesMut;
use serde::Serialize;
use tokio::sync::Notify;

use super::event::{Event, Fields};
use super::{BUFFERED_BYTES, BUFFERED_EVENTS, DEFAULT_KEEP_ALIVE, REPLAY_GAP_EVENT};
use crate::hub::{Cursor, Entry, Hub, Offer, Subscriber, SubscriberId};
use crate::shutdown::Shutdown;

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
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) id: SubscriberId,
    pub(super) queue: Mutex<Queue>,
    /// Pushes waiting for room.
    pub(super) room: Notify,
    /// The response was made (an event stream answers one request).
    pub(super) served: AtomicBool,
    pub(super) closed: AtomicBool,
    pub(super) closed_notify: Notify,
    pub(super) on_closed: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    pub(super) keep_alive: Mutex<Option<Duration>>,
    pub(super) shutdown: Mutex<Option<Shutdown>>,
    pub(super) topics: Mutex<Vec<(Hub, Arc<str>)>>,
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
    /// A stream with nothing queued, the default keep-alive and queue bounds, and no topics.
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

    /// Whether the client has gone or the stream was closed.
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
    pub(crate) fn with_shutdown(self, shutdown: Option<Shutdown>) -> EventStream {
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
    pub(super) fn shut(&self) {
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

    pub(super) fn wake_reader(&self) {
        let reader = self.lock_queue().reader.take();
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    pub(super) fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Events pushed and not yet taken by the response, already encoded: the response takes them
/// all as one chunk, so a burst costs one write.
pub(super) struct Queue {
    pub(super) bytes: BytesMut,
    pub(super) events: usize,
    pub(super) max_events: usize,
    pub(super) max_bytes: usize,
    /// The response body's waker, while it waits for events.
    pub(super) reader: Option<Waker>,
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
