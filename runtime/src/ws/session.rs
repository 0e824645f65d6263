//! One connection's life, on one task: it reads and runs the hooks in order, and between and
//! during hooks drains the peer's queue into the socket, flushing once per batch.

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::Either;
use tokio::time::Instant;
use tracing::Instrument;
use tungstenite::protocol::CloseFrame;

use super::heartbeat::Due;
use super::io::{Event, Io};
use super::socket::Socket;
use super::writer::HandlerFrames;
use super::{Close, Error, Message, Options, Peer, WebSocketHandler, WireMessage};
use crate::shutdown::{SessionGuard, Shutdown};
use crate::telemetry;

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
    http: axum::http::Version,
) -> impl Future<Output = ()> + Send + use<T> {
    let span = tracing::info_span!("websocket", route = %route, peer = %peer, remote = ?peer.remote_addr(), http = ?http);
    // The route's peer set (registered with the shutdown signal) already holds this peer: a
    // shutdown that starts from now on closes it. One that started before is seen here.
    let guard = shutdown.map(|shutdown| {
        if shutdown.is_started() {
            let (code, reason) = crate::dev::shutdown_close();
            peer.shared.close(code, reason);
        }
        shutdown.enter()
    });
    let io = Io::new(socket, options.heartbeat);
    let mut session = Session {
        handler,
        peer,
        options,
        io,
        _guard: guard,
        _open: OpenPeer::new(),
    };
    // The session is this block's one capture, used in place: moving it into a local (as an
    // `async fn run(self)` would) stores it twice.
    let session = async move {
        tracing::info!("open");
        let ended = session.serve().await;
        if let Ended::Closed = ended {
            session.finish().await;
        }
        if let Some(fault) = session.io.writer.fault.take() {
            session.report(*fault).await;
        }
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
        // Boxed, as the other hooks are (`Io::drive`): it runs once, at the end.
        let hook = Box::pin(AssertUnwindSafe(handler.close(&peer, close)).catch_unwind());
        if let Err(panic) = hook.await {
            let fault = Error::hook_panicked("close", &*panic);
            tracing::error!("nitrous: {fault}");
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
    _open: OpenPeer,
}

/// Counts the session among the open peers (`nitrous_websocket_peers`) while it lives.
struct OpenPeer;

impl OpenPeer {
    fn new() -> OpenPeer {
        telemetry::meters().peers.increment(1.0);
        OpenPeer
    }
}

impl Drop for OpenPeer {
    fn drop(&mut self) {
        telemetry::meters().peers.decrement(1.0);
    }
}

impl<T: WebSocketHandler> Session<T> {
    /// The closing handshake is done or under way: send what is queued, the close frame or
    /// the socket's reply to the client's, within the close timeout. Boxed, as it runs once:
    /// its timer would otherwise be room every idle connection's future holds.
    fn finish(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
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
        })
    }

    /// Runs the hooks until the read side ends.
    ///
    /// What it awaits besides the next event (the hooks, a read error's report) is boxed while it
    /// runs: a future is as large as the largest thing it awaits, and every idle connection's
    /// would otherwise hold room for the app's largest hook.
    async fn serve(&mut self) -> Ended {
        self.open().await;
        loop {
            // A `topic` or `topic_gap` hook panicked as the writer asked it about a message (the
            // peer is closing with 1011 already): the `error` hook is told. Looked at here, not
            // in a function of its own: an `async fn` awaited costs its future on every message.
            if let Some(fault) = self.io.writer.fault.take() {
                self.report(*fault).await;
            }
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
                // The socket answers pings itself, writing the pong before it reads on; raw frames
                // are never read.
                Some(Ok(WireMessage::Ping(_) | WireMessage::Pong(_) | WireMessage::Frame(_))) => {}
                Some(Ok(WireMessage::Close(frame))) => {
                    let (code, reason) = frame.map_or((code::NO_STATUS, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    // The socket answers the close frame itself; `poll_finish` flushes it.
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
                telemetry::meters().heartbeat_timeouts.increment(1);
                self.report(Error::HeartbeatTimeout).await;
                let farewell = WireMessage::Close(Some(CloseFrame {
                    code: code::INTERNAL.into(),
                    reason: "heartbeat timeout".into(),
                }));
                let socket = &mut self.io.socket;
                if socket.start_send(farewell).is_ok() {
                    let _ = poll_fn(|cx| socket.poll_flush(cx)).now_or_never();
                }
                Some(Ended::Cut(Close::new(code::ABNORMAL, "heartbeat timeout")))
            }
        }
    }

    /// Runs the `open` hook; a panic closes the peer with 1011. Boxed (see [`Session::serve`]).
    fn open(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let hook = self.handler.open(&self.peer);
            let frames = HandlerFrames {
                handler: &*self.handler,
                peer: &self.peer,
            };
            if let Err(fault) = self
                .io
                .drive(&self.peer.shared, &frames, "open", hook)
                .await
            {
                self.fail(fault).await;
            }
        })
    }

    /// Runs the `message` hook; a panic closes the peer with 1011. Boxed (see
    /// [`Session::serve`]).
    fn deliver(&mut self, message: Message) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let meters = telemetry::meters();
            meters.messages_received.increment(1);
            meters
                .bytes_received
                .increment(message.bytes().len() as u64);
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
        })
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
    /// Boxed (see [`Session::serve`]).
    fn broken(
        &mut self,
        error: tungstenite::Error,
    ) -> Pin<Box<dyn Future<Output = Option<Ended>> + Send + '_>> {
        Box::pin(async move {
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
        })
    }
}
