//! [`EventStream`]: the handle an app pushes through, its queue of encoded events, and its side of
//! the hub's topics.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use tokio::sync::Notify;

use super::event::{Event, Fields};
use super::{BUFFERED_BYTES, BUFFERED_EVENTS, DEFAULT_KEEP_ALIVE, REPLAY_GAP_EVENT};
use crate::hub::{
    Cursor, Entry, Gap, Hub, Offer, Owed, Reading, Resume, Said, Subscriber, SubscriberId,
    SubscriptionKey, next_stamp,
};
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
    /// events whose data is the payload's text (and whose `event:` is the name a publish gave
    /// it). A retained topic's events carry their [`Offset`](crate::Offset) as `id`.
    pub fn subscribe(&self, hub: &Hub, topic: &str) {
        self.subscribe_from(hub, topic, None);
    }

    /// [`EventStream::subscribe`], first replaying what a reconnecting client missed after
    /// `last_event_id` (its `Last-Event-ID`, from [`LastEventId`](super::LastEventId)) from the
    /// retained topic's history ([`Hub::retain`]): the replay and what is published meanwhile
    /// arrive as one sequence, each event once. A client further behind than the history keeps
    /// (or than its queue holds at once), or whose id is not one of this topic's offsets (an
    /// earlier process's, say), gets a [`REPLAY_GAP_EVENT`] event first, then what there is.
    pub fn subscribe_from(&self, hub: &Hub, topic: &str, last_event_id: Option<&str>) {
        self.subscribe_with(hub, topic, last_event_id, None);
    }

    /// Subscribes to `topic` and joins its presence with `info` (any `Serialize` value, at most
    /// [`MAX_PRESENCE_INFO`](crate::presence::MAX_PRESENCE_INFO) bytes of JSON), as
    /// [`Peer::join`](crate::ws::Peer::join) does: the stream is a member until it closes, and
    /// gets the topic's joins and leaves as `event: nitrous-presence`. The topic must be tracked
    /// ([`Hub::track_presence`]); a refused info value leaves the stream unsubscribed.
    pub fn join(
        &self,
        hub: &Hub,
        topic: &str,
        info: &impl serde::Serialize,
    ) -> Result<(), crate::presence::PresenceError> {
        if !hub.tracks_presence(topic) {
            return Err(crate::presence::PresenceError::NotTracked(topic.to_owned()));
        }
        let info = crate::presence::encode_info(info)?;
        self.subscribe_with(hub, topic, None, Some(Arc::from(info)));
        Ok(())
    }

    fn subscribe_with(
        &self,
        hub: &Hub,
        topic: &str,
        last_event_id: Option<&str>,
        info: Option<Arc<str>>,
    ) {
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock that `shut` takes to leave every topic, after it marked the stream
        // closed: a stream closed meanwhile is never left subscribed.
        if self.is_closed() {
            return;
        }
        topics.push((hub.clone(), Arc::from(topic)));
        let resume = Resume::from_client(last_event_id);
        hub.join_from(topic, self.shared.clone(), resume, info);
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

/// An event stream reads its topics from cursors, as a WebSocket peer does: an entry is counted
/// against the queue's bounds when it is published, and encoded when the response takes it.
impl Subscriber for Shared {
    fn id(&self) -> SubscriberId {
        self.id
    }

    fn offer(&self, entry: &Entry) -> Offer {
        if self.closed.load(Ordering::Acquire) {
            return Offer::Refused;
        }
        let mut queue = self.lock_queue();
        let owed = Owed::of(entry);
        if queue.fits(owed.bytes) {
            queue.owed.add(owed);
            Offer::Taken
        } else {
            Offer::Refused
        }
    }

    fn withdraw(&self, entry: &Entry) {
        self.lock_queue().release(Owed::of(entry));
    }

    fn ready(&self, key: SubscriptionKey) {
        let reader = {
            let mut queue = self.lock_queue();
            queue.reading.ready(key);
            queue.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    fn replay_budget(&self) -> Owed {
        let queue = self.lock_queue();
        Owed {
            bytes: queue.max_bytes.saturating_sub(queue.bytes()),
            entries: queue.max_events.saturating_sub(queue.events()),
        }
    }

    fn start(&self, cursor: Cursor, owed: Owed) {
        let mut queue = self.lock_queue();
        if !queue.stamped {
            // From now on pushes are merged with topic entries by stamp; what was pushed before
            // comes first.
            queue.stamped = true;
            if !queue.pushed.is_empty() {
                let end = queue.pushed.len();
                queue.marks.push_back((0, end));
            }
        }
        queue.owed.add(owed);
        queue.reading.add(cursor);
        let reader = queue.reader.take();
        drop(queue);
        // The body looks at the new cursor (a replay may wait in it).
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    fn dropped(&self) {
        if !self.closed.load(Ordering::Acquire) {
            tracing::warn!(stream = %self.id, "nitrous: closing an event stream that fell too far behind (its queue is full)");
            // What it has not read is dropped: that memory is what made it too slow.
            let reading = {
                let mut queue = self.lock_queue();
                queue.owed = Owed::default();
                std::mem::take(&mut queue.reading)
            };
            drop(reading);
            self.shut();
        }
    }
}

impl Shared {
    /// Encodes `event` onto the queue and wakes the response, unless the queue is full.
    fn enqueue(&self, event: &Fields<'_>) -> bool {
        let queued = self.lock_queue().push(event);
        if queued {
            self.wake_reader();
        }
        queued
    }

    fn has_room(&self) -> bool {
        let queue = self.lock_queue();
        queue.events() < queue.max_events && queue.bytes() < queue.max_bytes
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

/// What waits for the response: pushed events, already encoded (the response takes them all as
/// one chunk, so a burst costs one write), and the cursors of the stream's topics, whose entries
/// are encoded when taken.
pub(super) struct Queue {
    pushed: BytesMut,
    pushed_events: usize,
    /// Once the stream reads a topic: each push's end in `pushed` and its stamp, to merge pushes
    /// and topic entries in the order they were made.
    marks: VecDeque<(u64, usize)>,
    stamped: bool,
    /// The cursors of the stream's topics.
    reading: Reading,
    /// What the cursors hold for the stream, counted against its bounds.
    owed: Owed,
    pub(super) max_events: usize,
    pub(super) max_bytes: usize,
    /// The response body's waker, while it waits for events.
    pub(super) reader: Option<Waker>,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            pushed: BytesMut::new(),
            pushed_events: 0,
            marks: VecDeque::new(),
            stamped: false,
            reading: Reading::default(),
            owed: Owed::default(),
            max_events: BUFFERED_EVENTS,
            max_bytes: BUFFERED_BYTES,
            reader: None,
        }
    }
}

impl Queue {
    fn events(&self) -> usize {
        self.pushed_events + self.owed.entries
    }

    fn bytes(&self) -> usize {
        self.pushed.len() + self.owed.bytes
    }

    /// Whether one more event of `bytes` fits: always into an empty queue, otherwise within both
    /// bounds.
    fn fits(&self, bytes: usize) -> bool {
        let (events, queued) = (self.events(), self.bytes());
        (events == 0 && queued == 0)
            || (events < self.max_events && queued.saturating_add(bytes) <= self.max_bytes)
    }

    /// Encodes a pushed event, unless the queue is full.
    fn push(&mut self, event: &Fields<'_>) -> bool {
        if self.events() >= self.max_events {
            return false;
        }
        let before = self.pushed.len();
        event.encode_into(&mut self.pushed);
        let empty = before == 0 && self.owed.entries == 0;
        if !empty && self.bytes() > self.max_bytes {
            self.pushed.truncate(before);
            return false;
        }
        self.pushed_events += 1;
        if self.stamped {
            let end = self.pushed.len();
            self.marks.push_back((next_stamp(), end));
        }
        true
    }

    /// Lets go of what the cursors no longer hold.
    fn release(&mut self, owed: Owed) {
        self.owed.bytes = self.owed.bytes.saturating_sub(owed.bytes);
        self.owed.entries = self.owed.entries.saturating_sub(owed.entries);
    }

    /// Everything waiting, encoded as one chunk, pushes and topic entries in the order they were
    /// made; `None` when nothing waits.
    pub(super) fn take(&mut self) -> Option<Bytes> {
        if self.reading.is_empty() {
            self.marks.clear();
            self.pushed_events = 0;
            return (!self.pushed.is_empty()).then(|| self.pushed.split().freeze());
        }
        let mut out = BytesMut::new();
        let mut taken = 0;
        loop {
            let push = self.marks.front().map(|(stamp, _)| *stamp);
            if let Some((topic, said)) = self.reading.take_before(push) {
                match said {
                    Said::Gap(gap) => encode_gap(topic, gap, &mut out),
                    Said::Entry(entry) => encode_entry(entry, &mut out),
                }
                let released = self.reading.take_released();
                self.release(released);
                continue;
            }
            let released = self.reading.take_released();
            self.release(released);
            match self.marks.pop_front() {
                Some((_, end)) => {
                    out.extend_from_slice(&self.pushed[taken..end]);
                    taken = end;
                }
                None => break,
            }
        }
        self.pushed.clear();
        self.pushed_events = 0;
        (!out.is_empty()).then(|| out.freeze())
    }
}

/// A topic entry as an event: its offset as the id, its event name, its text as the data.
fn encode_entry(entry: &Entry, out: &mut BytesMut) {
    let id = entry.offset.map(|offset| offset.to_string());
    let data = entry.payload.to_text_lossy();
    Fields {
        id: id.as_deref(),
        event: entry.event.as_deref(),
        data: Some(&data),
        ..Fields::default()
    }
    .encode_into(out);
}

/// The gap event: `{"topic":..,"after":..,"resumed_at":..}`, offsets as strings (`null` when the
/// client's id was not an offset, or when nothing is replayed).
fn encode_gap(topic: &str, gap: Gap, out: &mut BytesMut) {
    let data = serde_json::json!({
        "topic": topic,
        "after": gap.after.map(|o| o.to_string()),
        "resumed_at": gap.resumed_at.map(|o| o.to_string()),
    })
    .to_string();
    Fields {
        event: Some(REPLAY_GAP_EVENT),
        data: Some(&data),
        ..Fields::default()
    }
    .encode_into(out);
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
