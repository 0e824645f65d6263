//! One connection's life, on one task: it reads and runs the hooks in order, and between and
//! during hooks drains the peer's queue into the socket, flushing once per batch.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::future::{CatchUnwind, Either};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::{Instant, Sleep};
use tracing::Instrument;
use tungstenite::protocol::CloseFrame;

use super::outbox::Outbound;
use super::peer::PeerShared;
use super::upgrade::Socket;
use super::{
    Close, Error, Message, Options, Peer, TopicGap, TopicMessage, WebSocketHandler, WireMessage,
};
use crate::hub::{Reading, Said, SubscriptionKey};
use crate::payload::{Payload, Repr};
use crate::shutdown::{SessionGuard, Shutdown};

/// Close codes nitrous sends.
mod code {
    pub(super) const PROTOCOL: u16 = 1002;
    pub(super) const NO_STATUS: u16 = 1005;
    pub(super) const ABNORMAL: u16 = 1006;
    pub(super) const INVALID_DATA: u16 = 1007;
    pub(super) const TOO_BIG: u16 = 1009;
    pub(super) const INTERNAL: u16 = 1011;
}

/// The session of one connection, to be spawned: `open`, `message`s, then `close`; the peer leaves
/// its route and its topics. One task reads, runs the hooks and writes, so an idle connection
/// costs one task and a reply needs no hand-off between tasks.
///
/// Everything the session holds is built here, before the future, so the future stores it once
/// (an async block keeps its captures beside its locals).
pub(crate) fn run<T: WebSocketHandler>(
    socket: Socket,
    handler: Arc<T>,
    peer: Peer,
    options: Arc<Options>,
    shutdown: Option<Shutdown>,
    route: &dyn fmt::Display,
) -> impl Future<Output = ()> + Send + use<T> {
    let span = tracing::info_span!("websocket", route = %route, peer = %peer, remote = ?peer.remote_addr());
    // The route's peer set (registered with the shutdown signal) already holds this peer: a
    // shutdown that starts from now on closes it. One that started before is seen here.
    let guard = shutdown.map(|shutdown| {
        if shutdown.is_started() {
            let (code, reason) = crate::dev::shutdown_close();
            peer.shared.close(code, reason);
        }
        shutdown.enter()
    });
    let io = Io {
        socket,
        writer: Writer::default(),
        closing_deadline: None,
        heartbeat: options
            .heartbeat
            .map(|(interval, timeout)| Heartbeat::new(interval, timeout)),
    };
    let mut session = Session {
        handler,
        peer,
        options,
        io,
        _guard: guard,
    };
    // The session is this block's one capture, used in place: moving it into a local (as an
    // `async fn run(self)` would) stores it twice.
    let session = async move {
        tracing::info!("open");
        let ended = session.serve().await;
        if let Ended::Closed = ended {
            session.finish().await;
        }
        session.report_frames_fault().await;
        let Session {
            handler, peer, io, ..
        } = session;
        // The peer receives nothing more from here on: its queue refuses pushes, it has left the
        // route's peers and its topics, and the connection is closed, all before the `close` hook
        // runs (which often publishes to the peers that are left).
        peer.shared.end();
        drop(io);
        let close = ended.into_close(&peer);
        tracing::info!(code = close.code, reason = %close.reason, "close");
        let hook = AssertUnwindSafe(handler.close(&peer, close)).catch_unwind();
        if let Err(panic) = hook.await {
            let message = panic_message(&panic);
            tracing::error!("nitrous: the `close` hook panicked: {message}");
        }
    };
    // Entering a span on every poll costs even when no subscriber wants it (and with `tracing`'s
    // `log` feature, a log-level check each time): only an enabled span is entered.
    if span.is_disabled() {
        Either::Left(session)
    } else {
        Either::Right(session.instrument(span))
    }
}

/// How the session's read side ended.
enum Ended {
    /// A close frame was exchanged (or sent); the code is in `Peer`'s record.
    Closed,
    /// The connection was dropped without a finished handshake.
    Cut(Close),
}

impl Ended {
    fn into_close(self, peer: &Peer) -> Close {
        match self {
            Ended::Cut(close) => close,
            Ended::Closed => peer
                .shared
                .close_record()
                .unwrap_or_else(|| Close::new(code::ABNORMAL, "")),
        }
    }
}

struct Session<T> {
    handler: Arc<T>,
    peer: Peer,
    options: Arc<Options>,
    io: Io,
    /// Keeps a graceful shutdown waiting for this session.
    _guard: Option<SessionGuard>,
}

/// The connection itself and what the session waits on besides the hooks.
struct Io {
    socket: Socket,
    writer: Writer,
    /// Set once the peer is closing: the closing handshake must end by then.
    closing_deadline: Option<Pin<Box<Sleep>>>,
    heartbeat: Option<Heartbeat>,
}

/// Pings every `interval`, and cuts a peer silent for `silence` (the interval plus the timeout).
/// One timer serves both: it fires at the next ping or at the silence deadline, whichever comes
/// first, and hearing from the peer only moves `last_seen` (the timer is re-armed when it fires).
struct Heartbeat {
    interval: Duration,
    silence: Duration,
    next_ping: Instant,
    last_seen: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Heartbeat {
    fn new(interval: Duration, timeout: Duration) -> Heartbeat {
        let now = Instant::now();
        let silence = interval + timeout;
        Heartbeat {
            interval,
            silence,
            next_ping: now + interval,
            last_seen: now,
            timer: Box::pin(tokio::time::sleep_until(now + interval.min(silence))),
        }
    }

    /// The timer fired: whether the peer has been silent too long; if not, whether to ping now.
    /// Re-arms the timer.
    fn due(&mut self, now: Instant) -> Due {
        let deadline = self.last_seen + self.silence;
        if now >= deadline {
            return Due::Silent;
        }
        let ping = now >= self.next_ping;
        if ping {
            self.next_ping = now + self.interval;
        }
        self.timer.as_mut().reset(self.next_ping.min(deadline));
        if ping { Due::Ping } else { Due::Nothing }
    }
}

enum Due {
    Silent,
    Ping,
    Nothing,
}

/// What woke the session up.
enum Event {
    Frame(Option<Result<WireMessage, tungstenite::Error>>),
    Terminate,
    ClosingTimedOut,
    Heartbeat,
    /// The writer stopped (a close frame went out, or the socket failed).
    WriterStopped,
}

impl<T: WebSocketHandler> Session<T> {
    /// The closing handshake is done or under way: send what is queued, the close frame or
    /// tungstenite's reply to the client's, within the close timeout.
    async fn finish(&mut self) {
        let shared = &*self.peer.shared;
        let frames = HandlerFrames {
            handler: &*self.handler,
            peer: &self.peer,
        };
        let io = &mut self.io;
        let _ = tokio::time::timeout(
            self.options.close_timeout,
            poll_fn(|cx| io.poll_finish(cx, shared, &frames)),
        )
        .await;
    }

    /// Runs the hooks until the read side ends.
    async fn serve(&mut self) -> Ended {
        let frames = HandlerFrames {
            handler: &*self.handler,
            peer: &self.peer,
        };
        let open = self.handler.open(&self.peer);
        if let Err(fault) = self
            .io
            .drive(&self.peer.shared, &frames, "open", open)
            .await
        {
            self.fail(fault).await;
        }
        loop {
            self.report_frames_fault().await;
            let shared = &*self.peer.shared;
            let close_timeout = self.options.close_timeout;
            let frames = HandlerFrames {
                handler: &*self.handler,
                peer: &self.peer,
            };
            let io = &mut self.io;
            let frame = match poll_fn(|cx| io.poll_event(cx, shared, close_timeout, &frames)).await
            {
                Event::Frame(frame) => frame,
                Event::Terminate => return Ended::Cut(Close::new(code::ABNORMAL, "terminated")),
                Event::ClosingTimedOut => {
                    let close = self.peer.shared.close_record();
                    return Ended::Cut(close.unwrap_or_else(|| {
                        Close::new(code::ABNORMAL, "closing handshake timed out")
                    }));
                }
                Event::Heartbeat => {
                    if let Some(ended) = self.heartbeat().await {
                        return ended;
                    }
                    continue;
                }
                Event::WriterStopped => continue,
            };
            self.io.seen();
            match frame {
                None => return self.vanished(),
                Some(Ok(WireMessage::Text(text))) => {
                    self.deliver(Message::from_text(text)).await;
                }
                Some(Ok(WireMessage::Binary(bytes))) => {
                    self.deliver(Message::from_binary(bytes)).await;
                }
                // tungstenite answers pings itself, writing the pong before it reads on.
                Some(Ok(WireMessage::Ping(_))) => self.io.socket.get_mut().owe_pong(),
                // Raw frames are never read.
                Some(Ok(WireMessage::Pong(_) | WireMessage::Frame(_))) => {}
                Some(Ok(WireMessage::Close(frame))) => {
                    let (code, reason) = frame.map_or((code::NO_STATUS, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    // tungstenite answers the close frame itself; `poll_finish` flushes it.
                    self.peer.shared.closed_by_client(Close::new(code, reason));
                    return Ended::Closed;
                }
                Some(Err(error)) => {
                    if let Some(ended) = self.broken(error).await {
                        return ended;
                    }
                }
            }
        }
    }

    /// The heartbeat's timer fired: a peer silent for the interval plus the timeout is cut (after a
    /// close frame, if the socket takes one at once); otherwise it is pinged when a ping is due.
    async fn heartbeat(&mut self) -> Option<Ended> {
        let heartbeat = self.io.heartbeat.as_mut()?;
        match heartbeat.due(Instant::now()) {
            Due::Nothing => None,
            Due::Ping => {
                self.peer.shared.ping();
                None
            }
            Due::Silent => {
                self.report(Error::HeartbeatTimeout).await;
                let farewell = WireMessage::Close(Some(CloseFrame {
                    code: code::INTERNAL.into(),
                    reason: "heartbeat timeout".into(),
                }));
                let _ = self.io.socket.send(farewell).now_or_never();
                Some(Ended::Cut(Close::new(code::ABNORMAL, "heartbeat timeout")))
            }
        }
    }

    /// Runs the `message` hook; a panic closes the peer with 1011.
    async fn deliver(&mut self, message: Message) {
        if self.peer.shared.is_closing() {
            return; // a closing peer's late messages are not handed to hooks
        }
        let hook = self.handler.message(&self.peer, message);
        let frames = HandlerFrames {
            handler: &*self.handler,
            peer: &self.peer,
        };
        if let Err(fault) = self
            .io
            .drive(&self.peer.shared, &frames, "message", hook)
            .await
        {
            self.fail(fault).await;
        }
        self.io.seen(); // a long hook is not a silent peer
    }

    /// A `topic` or `topic_gap` hook panicked as the writer asked it about a message (the peer
    /// is closing with 1011 already): the `error` hook is told.
    async fn report_frames_fault(&mut self) {
        if let Some(fault) = self.io.writer.fault.take() {
            self.report(*fault).await;
        }
    }

    /// A hook failed: report it, then close with 1011.
    async fn fail(&mut self, fault: Error) {
        tracing::error!("nitrous: {fault}; closing the peer with 1011");
        self.report(fault).await;
        self.peer.shared.close(code::INTERNAL, "internal error");
    }

    /// Calls the `error` hook, which must not take the session down with it. The call is boxed:
    /// errors are rare, and every idle connection's future stays small without it.
    fn report(&mut self, error: Error) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let hook = self.handler.error(&self.peer, error);
            let frames = HandlerFrames {
                handler: &*self.handler,
                peer: &self.peer,
            };
            if let Err(fault) = self
                .io
                .drive(&self.peer.shared, &frames, "error", hook)
                .await
            {
                tracing::error!("nitrous: {fault}");
            }
        })
    }

    /// The stream ended without a close frame.
    fn vanished(&self) -> Ended {
        let shared = &self.peer.shared;
        if shared.is_closing() && shared.close_record().is_some() {
            return Ended::Closed;
        }
        Ended::Cut(Close::new(code::ABNORMAL, ""))
    }

    /// A read error: answer protocol faults with their close code; a dead socket ends the session.
    async fn broken(&mut self, error: tungstenite::Error) -> Option<Ended> {
        use tungstenite::error::{CapacityError, ProtocolError};
        let (fault, close) = match error {
            tungstenite::Error::Utf8(_) => (
                Error::InvalidUtf8,
                Some((code::INVALID_DATA, "invalid UTF-8")),
            ),
            tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
                Error::MessageTooBig {
                    size,
                    max: max_size,
                },
                Some((code::TOO_BIG, "message too big")),
            ),
            // The client dropped the TCP connection without a close frame: it vanished.
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
            | tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed => return Some(self.vanished()),
            tungstenite::Error::Protocol(e) => (
                Error::Protocol(e.to_string()),
                Some((code::PROTOCOL, "protocol error")),
            ),
            other => (Error::Io(other.to_string()), None),
        };
        tracing::debug!("nitrous: {fault}");
        self.report(fault).await;
        match close {
            Some((code, reason)) => {
                self.peer.shared.close(code, reason);
                Some(Ended::Closed)
            }
            None => Some(Ended::Cut(Close::new(code::ABNORMAL, ""))),
        }
    }
}

impl Io {
    /// In order: a `terminate`, the closing deadline, the writer (what is queued goes out), the
    /// next frame, then the heartbeat's timer. The waker is registered before the queue and the flags
    /// are looked at, so a push or a `terminate` from another task is never missed.
    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        peer: &PeerShared,
        close_timeout: Duration,
        frames: &dyn Frames,
    ) -> Poll<Event> {
        peer.outbound.register(cx.waker());
        if peer.terminate_requested() {
            return Poll::Ready(Event::Terminate);
        }
        if self.closing_deadline.is_none() && peer.is_closing() {
            self.closing_deadline = Some(Box::pin(tokio::time::sleep(close_timeout)));
        }
        if let Some(deadline) = &mut self.closing_deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Event::ClosingTimedOut);
        }
        if self
            .writer
            .poll(cx, &mut self.socket, peer, frames)
            .is_ready()
        {
            return Poll::Ready(Event::WriterStopped);
        }
        if let Poll::Ready(frame) = self.socket.poll_next_unpin(cx) {
            return Poll::Ready(Event::Frame(frame));
        }
        // After the read: a frame that arrived with the deadline (a pong) counts. A closing peer
        // has its own deadline; pings would only race it.
        if self.closing_deadline.is_none()
            && let Some(heartbeat) = &mut self.heartbeat
            && heartbeat.timer.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Event::Heartbeat);
        }
        Poll::Pending
    }

    /// After the read side ended: writes until the writer stops, then flushes.
    fn poll_finish(
        &mut self,
        cx: &mut Context<'_>,
        peer: &PeerShared,
        frames: &dyn Frames,
    ) -> Poll<()> {
        peer.outbound.register(cx.waker());
        if !self.writer.stopped {
            ready!(self.writer.poll(cx, &mut self.socket, peer, frames));
        }
        self.socket.poll_flush_unpin(cx).map(|_| ())
    }

    /// Runs a hook to its end, writing what it (or anyone) queues meanwhile; reading waits, so
    /// hooks run one at a time, in order. A panic is caught and returned.
    fn drive<'a, F: Future<Output = ()>>(
        &'a mut self,
        peer: &'a PeerShared,
        frames: &'a dyn Frames,
        name: &'static str,
        hook: F,
    ) -> Drive<'a, F> {
        Drive {
            hook: AssertUnwindSafe(hook).catch_unwind(),
            io: self,
            peer,
            frames,
            name,
        }
    }

    /// The peer was heard from (only a heartbeat asks).
    fn seen(&mut self) {
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.last_seen = Instant::now();
        }
    }
}

pin_project_lite::pin_project! {
    /// A hook running, and the writer beside it. A plain future rather than an `async fn`, which
    /// would store the hook's future twice (as its argument and pinned).
    struct Drive<'a, F> {
        #[pin]
        hook: CatchUnwind<AssertUnwindSafe<F>>,
        io: &'a mut Io,
        peer: &'a PeerShared,
        frames: &'a dyn Frames,
        name: &'static str,
    }
}

impl<F: Future<Output = ()>> Future for Drive<'_, F> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // While the hook runs, its own sends need not wake this task: what it queued is written
        // right after it returns.
        this.peer.outbound.unregister();
        if let Poll::Ready(outcome) = this.hook.poll(cx) {
            let name = *this.name;
            return Poll::Ready(outcome.map_err(|panic| Error::HookPanicked {
                hook: name,
                message: panic_message(&panic),
            }));
        }
        this.peer.outbound.register(cx.waker());
        // The writer's end is noticed by the session's loop, after the hook.
        let _ = this
            .io
            .writer
            .poll(cx, &mut this.io.socket, this.peer, *this.frames);
        Poll::Pending
    }
}

/// The write side: drains the peer's queue and its topics' logs into the socket, everything
/// waiting at once, and flushes once per batch: a burst costs one write, not one per message.
/// Queue items and topic entries go out in stamp order.
#[derive(Default)]
struct Writer {
    /// Taken from the peer's queue, stamped.
    batch: VecDeque<(u64, Outbound)>,
    /// One cursor per topic subscribed to (or left, until what it owed is read).
    reading: Reading,
    /// Subscriptions whose cursors have something to read again, taken from the queue.
    ready: Vec<SubscriptionKey>,
    /// A frame taken from the queue that the socket had no room for yet.
    pending: Option<WireMessage>,
    /// Frames went to the socket since its last flush.
    unflushed: bool,
    /// A close frame (or the client's close) was the last item: flush, then stop.
    last: bool,
    /// Nothing more will be written.
    stopped: bool,
    /// Closed as a slow consumer: what was waiting is dropped, but for the close frame.
    abandoned: bool,
    /// A `topic` or `topic_gap` hook panicked (the first one), for the `error` hook.
    fault: Option<Box<Error>>,
}

impl Writer {
    /// `Pending` while there is nothing to write or the socket is full; `Ready` once, when the
    /// writer stops (its last item is flushed, or the socket failed).
    fn poll(
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
            self.abandon();
        }
        loop {
            if self.pending.is_none() && !self.last {
                self.pending = self.next(peer, frames);
            }
            if let Some(frame) = self.pending.take() {
                match socket.poll_ready_unpin(cx) {
                    Poll::Pending => {
                        self.pending = Some(frame);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(())) if socket.start_send_unpin(frame).is_ok() => {
                        self.unflushed = true;
                        continue;
                    }
                    Poll::Ready(_) => return self.fail(cx, socket, peer),
                }
            }
            if self.unflushed || self.last {
                match ready!(socket.poll_flush_unpin(cx)) {
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
    fn abandon(&mut self) {
        self.abandoned = true;
        self.reading.clear();
        self.pending = None;
        self.batch
            .retain(|(_, item)| matches!(item, Outbound::Close(..)));
    }

    /// The socket refused a write. Still flush: tungstenite may hold its reply to the client's
    /// close frame.
    fn fail(&mut self, cx: &mut Context<'_>, socket: &mut Socket, peer: &PeerShared) -> Poll<()> {
        let _ = socket.poll_flush_unpin(cx);
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
trait Frames: Sync {
    fn message(&self, message: TopicMessage<'_>) -> Result<Option<Payload>, Error>;
    fn gap(&self, gap: TopicGap<'_>) -> Result<Option<Payload>, Error>;
}

/// The handler's `topic` and `topic_gap` hooks for one peer. They are user code run on the
/// session's task: a panic is caught, logged, closes the peer with 1011 and is returned, for the
/// session to hand to the `error` hook.
struct HandlerFrames<'a, T> {
    handler: &'a T,
    peer: &'a Peer,
}

impl<T: WebSocketHandler> HandlerFrames<'_, T> {
    fn guarded(
        &self,
        hook: &'static str,
        call: impl FnOnce() -> Option<Payload>,
    ) -> Result<Option<Payload>, Error> {
        std::panic::catch_unwind(AssertUnwindSafe(call)).map_err(|panic| {
            let fault = Error::HookPanicked {
                hook,
                message: panic_message(&panic),
            };
            tracing::error!("nitrous: {fault}; closing the peer with 1011");
            self.peer.shared.close(code::INTERNAL, "internal error");
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

fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string panic payload)".to_owned()
    }
}
