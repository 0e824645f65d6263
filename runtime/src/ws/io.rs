//! What a session waits on besides its hooks: the socket (both ways), the closing deadline and
//! the heartbeat, polled in one place; and a hook running with the writer beside it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use tokio::time::Sleep;

use super::heartbeat::Heartbeat;
use super::peer::PeerShared;
use super::socket::Socket;
use super::writer::{Frames, Writer};
use super::{Error, WireMessage};

/// The connection itself and what the session waits on besides the hooks.
pub(super) struct Io {
    pub(super) socket: Socket,
    pub(super) writer: Writer,
    /// Set once the peer is closing: the closing handshake must end by then.
    closing_deadline: Option<Pin<Box<Sleep>>>,
    pub(super) heartbeat: Option<Heartbeat>,
}

/// What woke the session up.
pub(super) enum Event {
    Frame(Option<Result<WireMessage, tungstenite::Error>>),
    Terminate,
    ClosingTimedOut,
    Heartbeat,
    /// The writer stopped (a close frame went out, or the socket failed).
    WriterStopped,
}

impl Io {
    /// A connection's I/O, with a heartbeat of `(interval, timeout)` if the route has one.
    pub(super) fn new(socket: Socket, heartbeat: Option<(Duration, Duration)>) -> Io {
        Io {
            socket,
            writer: Writer::default(),
            closing_deadline: None,
            heartbeat: heartbeat.map(|(interval, timeout)| Heartbeat::new(interval, timeout)),
        }
    }

    /// In order: a `terminate`, the closing deadline, the writer (what is queued goes out), the
    /// next frame, then the heartbeat's timer. The waker is registered before the queue and the flags
    /// are looked at, so a push or a `terminate` from another task is never missed.
    pub(super) fn poll_event(
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
        if let Poll::Ready(frame) = self.socket.poll_next(cx) {
            return Poll::Ready(Event::Frame(frame));
        }
        // Quiet: nothing to read, everything written. A write buffer grown for a large message
        // goes back.
        if self.writer.is_idle() {
            self.socket.rest();
        }
        // After the read: a frame that arrived with the deadline (a pong) counts. A closing peer
        // has its own deadline; pings would only race it.
        if self.closing_deadline.is_none()
            && let Some(heartbeat) = &mut self.heartbeat
            && heartbeat.poll_timer(cx).is_ready()
        {
            return Poll::Ready(Event::Heartbeat);
        }
        Poll::Pending
    }

    /// After the read side ended: writes until the writer stops, then flushes.
    pub(super) fn poll_finish(
        &mut self,
        cx: &mut Context<'_>,
        peer: &PeerShared,
        frames: &dyn Frames,
    ) -> Poll<()> {
        peer.outbound.register(cx.waker());
        if !self.writer.stopped {
            ready!(self.writer.poll(cx, &mut self.socket, peer, frames));
        }
        self.socket.poll_flush(cx).map(|_| ())
    }

    /// Runs a hook to its end, writing what it (or anyone) queues meanwhile; reading waits, so
    /// hooks run one at a time, in order. A panic is caught and returned.
    pub(super) fn drive<'a, F: Future<Output = ()>>(
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
    pub(super) fn seen(&mut self) {
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.seen();
        }
    }
}

pin_project_lite::pin_project! {
    /// A hook running, and the writer beside it. A plain future rather than an `async fn`, which
    /// would store the hook's future twice (as its argument and pinned).
    pub(super) struct Drive<'a, F> {
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
        this.peer.outbound.enter_hook();
        let polled = this.hook.poll(cx);
        this.peer.outbound.leave_hook();
        if let Poll::Ready(outcome) = polled {
            let name = *this.name;
            return Poll::Ready(outcome.map_err(|panic| Error::hook_panicked(name, &*panic)));
        }
        // Registered already, unless a push took the waker before the hook ran (and woke this
        // task, so it is polled again anyway).
        this.peer.outbound.register(cx.waker());
        // The writer's end is noticed by the session's loop, after the hook.
        let _ = this
            .io
            .writer
            .poll(cx, &mut this.io.socket, this.peer, *this.frames);
        Poll::Pending
    }
}
