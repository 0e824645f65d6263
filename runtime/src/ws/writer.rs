//! The write side of a session: the peer's queue and its topics' logs, into the socket.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll, ready};

use tungstenite::protocol::CloseFrame;

use super::outbox::Outbound;
use super::peer::PeerShared;
use super::socket::Socket;
use super::{CloseCode, Error, Peer, TopicGap, TopicMessage, WebSocketHandler, WireMessage};
use crate::hub::{Reading, Said, SubscriptionKey};
use crate::payload::{Payload, Repr};

/// The write side: drains the peer's queue and its topics' logs into the socket, everything
/// waiting at once, and flushes once per batch: a burst costs one write, not one per message.
/// Queue items and topic entries go out in stamp order.
#[derive(Default)]
pub(super) struct Writer {
    /// Taken from the peer's queue, stamped.
    batch: VecDeque<(u64, Outbound)>,
    /// One cursor per topic subscribed to (or left, until what it owed is read).
    reading: Reading,
    /// Subscriptions whose cursors have something to read again, taken from the queue.
    ready: Vec<SubscriptionKey>,
    /// Frames went to the socket since its last flush.
    unflushed: bool,
    /// A close frame (or the client's close) was the last item: flush, then stop.
    last: bool,
    /// Nothing more will be written.
    pub(super) stopped: bool,
    /// Closed as a slow consumer: what was waiting is dropped, but for the close frame.
    abandoned: bool,
    /// A `topic` or `topic_gap` hook panicked (the first one), for the `error` hook.
    pub(super) fault: Option<Box<Error>>,
}

impl Writer {
    /// `Pending` while there is nothing to write or the socket is full; `Ready` once, when the
    /// writer stops (its last item is flushed, or the socket failed).
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        socket: &mut Socket,
        peer: &PeerShared,
        frames: &dyn Frames,
    ) -> Poll<()> {
        if self.stopped {
            return Poll::Pending;
        }
        if !self.abandoned && peer.is_slow() {
            self.abandon(peer);
        }
        // Nothing to write, flush or read (a session woken by a read, mostly): no need to look
        // further. A peer reading topics always looks, as its cursors say when they have more.
        if self.is_idle()
            && self.batch.is_empty()
            && self.reading.is_empty()
            && !peer.outbound.has_queued()
        {
            return Poll::Pending;
        }
        loop {
            // The socket takes a frame before one is taken from the queue: none waits here.
            if !self.last {
                match socket.poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return self.fail(cx, socket, peer),
                }
                if let Some(frame) = self.next(peer, frames) {
                    // Messages, not pings or the close frame.
                    let message = matches!(frame, WireMessage::Text(_) | WireMessage::Binary(_))
                        .then(|| frame.len() as u64);
                    if socket.start_send(frame).is_err() {
                        return self.fail(cx, socket, peer);
                    }
                    if let Some(bytes) = message {
                        let meters = crate::telemetry::meters();
                        meters.messages_sent.increment(1);
                        meters.bytes_sent.increment(bytes);
                    }
                    self.unflushed = true;
                    continue;
                }
            }
            if self.unflushed || self.last {
                match ready!(socket.poll_flush(cx)) {
                    Ok(()) => self.unflushed = false,
                    Err(_) => return self.fail(cx, socket, peer),
                }
            }
            if self.last {
                return self.stop(peer);
            }
            return Poll::Pending;
        }
    }

    /// Nothing written and not flushed, and not stopping.
    pub(super) fn is_idle(&self) -> bool {
        !self.unflushed && !self.last && !self.stopped
    }

    /// The next frame to write: the earliest of the queue's next item and the topics' next
    /// entries.
    fn next(&mut self, peer: &PeerShared, frames: &dyn Frames) -> Option<WireMessage> {
        loop {
            peer.outbound.take_all(&mut self.batch, &mut self.ready);
            for key in self.ready.drain(..) {
                self.reading.ready(key);
            }
            let queued = self.batch.front().map(|(stamp, _)| *stamp);
            if let Some((topic, said)) = self.reading.take_before(queued) {
                let said = match said {
                    Said::Gap(gap) => frames.gap(TopicGap {
                        topic,
                        after: gap.after,
                        resumed_at: gap.resumed_at,
                    }),
                    Said::Entry(entry) => frames.message(TopicMessage {
                        topic,
                        offset: entry.offset,
                        event: entry.event.as_deref(),
                        payload: &entry.payload,
                        framed: &entry.framed,
                    }),
                };
                // What the entries moved past had counted: written (or skipped), owed no more.
                peer.release(self.reading.take_released().bytes);
                match said {
                    Ok(Some(payload)) => return Some(frame(payload)),
                    Ok(None) => continue, // the handler sends nothing for it
                    // The peer is closing; the session hands the panic to `error`.
                    Err(fault) => {
                        self.fault.get_or_insert(Box::new(fault));
                        continue;
                    }
                }
            }
            peer.release(self.reading.take_released().bytes);
            match self.batch.pop_front()?.1 {
                Outbound::Frame(payload) => {
                    peer.written(&payload);
                    return Some(frame(payload));
                }
                Outbound::Ping => return Some(WireMessage::Ping(Default::default())),
                Outbound::Close(code, reason) => {
                    self.last = true;
                    return Some(WireMessage::Close(Some(CloseFrame {
                        code: code.into(),
                        reason: reason.into(),
                    })));
                }
                Outbound::Finish => {
                    self.last = true;
                    return None;
                }
                Outbound::Subscribe(cursor) => self.reading.add(cursor),
            }
        }
    }

    /// A slow consumer's queue and topics are dropped at once (the memory they hold is what
    /// made it one); its close frame, queued last, still goes out if the socket takes it.
    fn abandon(&mut self, peer: &PeerShared) {
        self.abandoned = true;
        // What is still in the peer's queue too (it was queued before the close frame).
        peer.outbound.take_all(&mut self.batch, &mut self.ready);
        self.ready.clear();
        self.reading.clear();
        self.batch
            .retain(|(_, item)| matches!(item, Outbound::Close(..)));
    }

    /// The socket refused a write. Still flush: the socket may hold its reply to the client's
    /// close frame.
    fn fail(&mut self, cx: &mut Context<'_>, socket: &mut Socket, peer: &PeerShared) -> Poll<()> {
        let _ = socket.poll_flush(cx);
        self.stop(peer)
    }

    fn stop(&mut self, peer: &PeerShared) -> Poll<()> {
        self.stopped = true;
        self.batch = VecDeque::new();
        self.reading.clear();
        peer.outbound.stop();
        Poll::Ready(())
    }
}

/// What the writer asks the handler about a topic's messages on their way to the peer.
pub(super) trait Frames: Sync {
    fn message(&self, message: TopicMessage<'_>) -> Result<Option<Payload>, Error>;
    fn gap(&self, gap: TopicGap<'_>) -> Result<Option<Payload>, Error>;
}

/// The handler's `topic` and `topic_gap` hooks for one peer. They are user code run on the
/// session's task: a panic is caught, logged, closes the peer with 1011 and is returned, for the
/// session to hand to the `error` hook.
pub(super) struct HandlerFrames<'a, T> {
    pub(super) handler: &'a T,
    pub(super) peer: &'a Peer,
}

impl<T: WebSocketHandler> HandlerFrames<'_, T> {
    fn guarded(
        &self,
        hook: &'static str,
        call: impl FnOnce() -> Option<Payload>,
    ) -> Result<Option<Payload>, Error> {
        std::panic::catch_unwind(AssertUnwindSafe(call)).map_err(|panic| {
            let fault = Error::hook_panicked(hook, &*panic);
            tracing::error!("nitrous: {fault}; closing the peer with 1011");
            self.peer
                .shared
                .close(CloseCode::INTERNAL_ERROR.get(), "internal error");
            fault
        })
    }
}

impl<T: WebSocketHandler> Frames for HandlerFrames<'_, T> {
    fn message(&self, message: TopicMessage<'_>) -> Result<Option<Payload>, Error> {
        self.guarded("topic", || self.handler.topic(self.peer, message))
    }

    fn gap(&self, gap: TopicGap<'_>) -> Result<Option<Payload>, Error> {
        self.guarded("topic_gap", || self.handler.topic_gap(self.peer, gap))
    }
}

/// A payload as a data frame: text or binary, its bytes shared.
fn frame(payload: Payload) -> WireMessage {
    match payload.0 {
        Repr::Text(text) => WireMessage::Text(text),
        Repr::Binary(bytes) => WireMessage::Binary(bytes),
    }
}
