//! One connection's life: a reader that runs the hooks in order, and a writer that drains the
//! peer's queue and flushes once per batch.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WireMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::Instant;
use tracing::Instrument;

use super::peer::{Drain, Outbound};
use super::{Close, Error, Message, Options, Peer, WebSocketHandler};
use crate::shutdown::{Shutdown, started};

/// Close codes nitrous sends.
mod code {
    pub(super) const GOING_AWAY: u16 = 1001;
    pub(super) const PROTOCOL: u16 = 1002;
    pub(super) const NO_STATUS: u16 = 1005;
    pub(super) const ABNORMAL: u16 = 1006;
    pub(super) const INVALID_DATA: u16 = 1007;
    pub(super) const TOO_BIG: u16 = 1009;
    pub(super) const INTERNAL: u16 = 1011;
}

/// Runs the session to its end: `open`, `message`s, then `close`; the peer leaves its route and
/// its topics.
pub(crate) async fn run<T: WebSocketHandler>(
    socket: WebSocket,
    handler: Arc<T>,
    peer: Peer,
    outbound: Drain,
    options: Arc<Options>,
    shutdown: Option<Shutdown>,
    route: Arc<str>,
) {
    let span = tracing::info_span!("websocket", route = %route, peer = %peer, remote = ?peer.remote_addr());
    async move {
        let _guard = shutdown.as_ref().map(Shutdown::enter);
        let (sink, stream) = socket.split();
        let writer = tokio::spawn(write(sink, outbound, peer.clone()).in_current_span());
        tracing::info!("open");
        let close = Reader {
            handler: &*handler,
            peer: &peer,
            options: &options,
            stream,
            shutdown,
        }
        .run()
        .await;
        match &close {
            Ended::Closed => {
                // The closing handshake is done or under way: let the writer send what it has.
                let _ = tokio::time::timeout(options.close_timeout, writer).await;
            }
            Ended::Cut(_) => writer.abort(),
        }
        let close = close.into_close(&peer);
        tracing::info!(code = close.code, reason = %close.reason, "close");
        if let Err(panic) = AssertUnwindSafe(handler.close(&peer, close))
            .catch_unwind()
            .await
        {
            let message = panic_message(&panic);
            tracing::error!("nitrous: the `close` hook panicked: {message}");
        }
        peer.shared
            .peers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&peer.id());
        peer.leave_all_topics();
    }
    .instrument(span)
    .await;
}

/// How the reader ended.
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

struct Reader<'a, T> {
    handler: &'a T,
    peer: &'a Peer,
    options: &'a Options,
    stream: SplitStream<WebSocket>,
    shutdown: Option<Shutdown>,
}

impl<T: WebSocketHandler> Reader<'_, T> {
    async fn run(mut self) -> Ended {
        if let Err(fault) = self.hook("open", self.handler.open(self.peer)).await {
            self.fail(fault).await;
        }
        let (interval, timeout) = match self.options.heartbeat {
            Some((interval, timeout)) => (interval, Some(timeout)),
            None => (Duration::from_secs(3600), None),
        };
        let mut heartbeat = tokio::time::interval_at(Instant::now() + interval, interval);
        let mut last_seen = Instant::now();
        let mut closing_deadline: Option<Instant> = None;
        let mut shutdown = self.shutdown.take();
        loop {
            if closing_deadline.is_none() && self.peer.shared.is_closing() {
                closing_deadline = Some(Instant::now() + self.options.close_timeout);
            }
            let deadline =
                closing_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                biased;
                () = self.peer.shared.wake.notified() => {
                    if self.peer.shared.terminate_requested() {
                        return Ended::Cut(Close::new(code::ABNORMAL, "terminated"));
                    }
                }
                () = started(&mut shutdown) => {
                    self.peer.close(code::GOING_AWAY, "server shutting down");
                    shutdown = None;
                }
                () = tokio::time::sleep_until(deadline), if closing_deadline.is_some() => {
                    let close = self.peer.shared.close_record();
                    return Ended::Cut(close.unwrap_or_else(|| Close::new(code::ABNORMAL, "closing handshake timed out")));
                }
                // A closing peer has its own deadline; pings would only race it.
                _ = heartbeat.tick(), if timeout.is_some() && closing_deadline.is_none() => {
                    let timeout = timeout.unwrap_or_default();
                    if last_seen.elapsed() > interval + timeout {
                        self.report(Error::HeartbeatTimeout).await;
                        return Ended::Cut(Close::new(code::ABNORMAL, "heartbeat timeout"));
                    }
                    self.peer.shared.ping();
                }
                frame = self.stream.next() => {
                    last_seen = Instant::now();
                    match frame {
                        None => return self.vanished(),
                        Some(Ok(WireMessage::Text(text))) => {
                            self.deliver(Message::from_text(text)).await;
                            last_seen = Instant::now(); // a long hook is not a silent peer
                        }
                        Some(Ok(WireMessage::Binary(bytes))) => {
                            self.deliver(Message::from_binary(bytes)).await;
                            last_seen = Instant::now();
                        }
                        Some(Ok(WireMessage::Ping(_) | WireMessage::Pong(_))) => {}
                        Some(Ok(WireMessage::Close(frame))) => {
                            let (code, reason) = frame.map_or((code::NO_STATUS, String::new()), |f| (f.code, f.reason.to_string()));
                            // tungstenite answers the close frame itself; the writer flushes it.
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
        }
    }

    /// Runs the `message` hook; a panic closes the peer with 1011.
    async fn deliver(&mut self, message: Message) {
        if self.peer.shared.is_closing() {
            return; // a closing peer's late messages are not handed to hooks
        }
        if let Err(fault) = self
            .hook("message", self.handler.message(self.peer, message))
            .await
        {
            self.fail(fault).await;
        }
    }

    async fn hook<F: std::future::Future<Output = ()>>(
        &self,
        name: &'static str,
        hook: F,
    ) -> Result<(), Error> {
        AssertUnwindSafe(hook)
            .catch_unwind()
            .await
            .map_err(|panic| Error::HookPanicked {
                hook: name,
                message: panic_message(&panic),
            })
    }

    /// A hook failed: report it, then close with 1011.
    async fn fail(&mut self, fault: Error) {
        tracing::error!("nitrous: {fault}; closing the peer with 1011");
        self.report(fault).await;
        self.close_with(code::INTERNAL, "internal error");
    }

    /// Calls the `error` hook, which must not take the session down with it.
    async fn report(&self, error: Error) {
        if let Err(panic) = AssertUnwindSafe(self.handler.error(self.peer, error))
            .catch_unwind()
            .await
        {
            tracing::error!(
                "nitrous: the `error` hook panicked: {}",
                panic_message(&panic)
            );
        }
    }

    fn close_with(&self, code: u16, reason: &str) {
        self.peer.shared.close(code, reason);
    }

    /// The stream ended without a close frame.
    fn vanished(&self) -> Ended {
        if self.peer.shared.is_closing() && self.peer.shared.close_record().is_some() {
            return Ended::Closed;
        }
        Ended::Cut(Close::new(code::ABNORMAL, ""))
    }

    /// A read error: answer protocol faults with their close code; a dead socket ends the session.
    async fn broken(&mut self, error: axum::Error) -> Option<Ended> {
        let inner = error.into_inner();
        let (fault, close_code) = match inner.downcast_ref::<tungstenite::Error>() {
            Some(tungstenite::Error::Utf8(_)) => (Error::InvalidUtf8, Some(code::INVALID_DATA)),
            Some(tungstenite::Error::Capacity(
                tungstenite::error::CapacityError::MessageTooLong { size, max_size },
            )) => (
                Error::MessageTooBig {
                    size: *size,
                    max: *max_size,
                },
                Some(code::TOO_BIG),
            ),
            // The client dropped the TCP connection without a close frame: it vanished.
            Some(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => {
                return Some(self.vanished());
            }
            Some(tungstenite::Error::Protocol(e)) => {
                (Error::Protocol(e.to_string()), Some(code::PROTOCOL))
            }
            Some(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Some(self.vanished());
            }
            _ => (Error::Io(inner.to_string()), None),
        };
        tracing::debug!("nitrous: {fault}");
        self.report(fault).await;
        match close_code {
            Some(code) => {
                let reason = match code {
                    code::INVALID_DATA => "invalid UTF-8",
                    code::TOO_BIG => "message too big",
                    _ => "protocol error",
                };
                self.close_with(code, reason);
                Some(Ended::Closed)
            }
            None => Some(Ended::Cut(Close::new(code::ABNORMAL, ""))),
        }
    }
}

/// Drains the queue, writing everything waiting, and flushes once per batch: a burst costs one
/// write, not one per message.
async fn write(mut sink: SplitSink<WebSocket, WireMessage>, mut queue: Drain, peer: Peer) {
    loop {
        let mut next = Some(queue.recv().await);
        while let Some(item) = next {
            let sent = match item {
                Outbound::Frame(frame) => {
                    peer.shared.written(&frame);
                    sink.feed(frame).await
                }
                Outbound::Finish => {
                    let _ = sink.flush().await;
                    return;
                }
                Outbound::Ping => sink.feed(WireMessage::Ping(Default::default())).await,
                Outbound::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sink.feed(WireMessage::Close(Some(frame))).await;
                    let _ = sink.flush().await;
                    return;
                }
            };
            if sent.is_err() {
                // Still flush: tungstenite may hold its reply to the client's close frame.
                let _ = sink.flush().await;
                return;
            }
            next = queue.try_recv();
        }
        if sink.flush().await.is_err() {
            return;
        }
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
