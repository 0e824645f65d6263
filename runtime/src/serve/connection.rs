//! One accepted connection: which HTTP it speaks (TLS's ALPN, or in cleartext its first bytes),
//! served by hyper until it ends, or until the shutdown lets it finish what is in flight; or, for
//! a WebSocket handshake in cleartext, answered without hyper ([`direct`]), its session returned
//! to run on the connection's task.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use super::direct::{self, Session};
use super::preface::{self, First};
use super::rewind::Rewind;
use super::{Limits, Stage, reached};
use crate::stall::{BodyStall, WriteStall};
use crate::telemetry;

/// How the server speaks to its connections: hyper's HTTP/1.1 and HTTP/2 settings, whether a
/// cleartext connection may speak HTTP/2, the limits, and TLS if it serves HTTPS.
pub(super) struct Protocols {
    /// Here rather than passed to each connection: a connection's future holds what it is given
    /// (twice: an `async fn`'s arguments, and the locals they become).
    limits: Limits,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    h2c: bool,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<super::tls::Tls>,
}

impl Protocols {
    pub(super) fn new(limits: Limits) -> Protocols {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(limits.max_header_bytes);
        if let Some(count) = limits.max_headers {
            http1.max_headers(count);
        }
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            // RFC 8441: WebSockets over HTTP/2 streams (extended CONNECT).
            .enable_connect_protocol()
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .max_concurrent_streams(limits.max_streams)
            .keep_alive_interval(limits.ping_interval)
            .keep_alive_timeout(limits.ping_timeout);
        Protocols {
            limits,
            http1,
            http2,
            h2c: limits.h2c,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// Serves one connection until it ends; a WebSocket handshake answered without hyper returns its
/// session instead, for the connection's task to run once everything else here is dropped.
///
/// A connection accepted just before the signal may not have sent its request yet (hyper would
/// close it as idle, and the client sees a failed request): it gets [`FIRST_REQUEST_GRACE`] to
/// send one, which is answered. This is what lets `cargo nitrous dev` and rolling restarts swap a
/// process under a steady stream of requests without failing one.
pub(super) async fn serve(
    protocols: Arc<Protocols>,
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    mut stage: watch::Receiver<Stage>,
) -> Option<Session> {
    let limits = &protocols.limits;
    nodelay(&stream, limits.nodelay);
    // Until hyper has the connection, its header timeout does not run: the preface (or the TLS
    // handshake) gets as long as a request head would.
    let opening = open(&protocols, stream);
    let opened = tokio::select! {
        opened = bounded(limits.header_timeout, opening) => opened,
        () = reached(&mut stage, Stage::Dropped) => return None,
    };
    // Never borrowed here (a borrowed local keeps its room in the future to its scope's end).
    let (opened, _open) = opened?.counted();
    // Moved whole into `direct` (not taken apart by a `match`), so that it is no room in this
    // future from here on.
    let (stream, request, early) = match opened.direct(remote) {
        Ok(direct) => direct,
        // hyper's connection is several KiB of state: boxed, so that this future, which every
        // connection's task allocates and moves once, stays as small as the direct path's.
        Err(opened) => {
            Box::pin(hyper(opened, &protocols, router, remote, &mut stage)).await;
            return None;
        }
    };
    tokio::select! {
        session = direct::answer(stream, request, early, router) => session,
        () = reached(&mut stage, Stage::Dropped) => None,
    }
}

/// Serves a connection with hyper until it ends, or until the shutdown lets it finish what is in
/// flight.
async fn hyper(
    opened: Opened,
    protocols: &Protocols,
    router: Router,
    remote: SocketAddr,
    stage: &mut watch::Receiver<Stage>,
) {
    let requested = Arc::new(Notify::new());
    let body_timeout = protocols.limits.body_timeout;
    let service = service(router, remote, body_timeout, requested.clone());
    // TLS or not, each protocol is the same hyper connection over another stream.
    macro_rules! serve {
        (http1, $io:expr) => {{
            let conn = protocols
                .http1
                .serve_connection($io, service)
                .with_upgrades();
            drive(conn, |c| c.graceful_shutdown(), &requested, stage).await
        }};
        (http2, $io:expr) => {{
            let conn = protocols.http2.serve_connection($io, service);
            drive(conn, |c| c.graceful_shutdown(), &requested, stage).await
        }};
    }
    let outcome = match opened {
        Opened::Http1(io) => serve!(http1, io),
        Opened::Http2(io) => serve!(http2, io),
        Opened::WebSocket(..) => unreachable!("answered without hyper"),
        #[cfg(feature = "tls")]
        Opened::Https1(io) => serve!(http1, *io),
        #[cfg(feature = "tls")]
        Opened::Https2(io) => serve!(http2, *io),
    };
    if let Some(Err(error)) = outcome {
        // A header timeout, a malformed request, a client gone mid-request: the client's
        // business, not the server's.
        tracing::debug!(%remote, "nitrous: connection ended: {error}");
    }
}

/// A connection's I/O under hyper: the bytes read to see what it speaks read again first
/// ([`Rewind`]), writes that stall cut ([`WriteStall`]).
type Plain = TokioIo<Rewind<WriteStall<TcpStream>>>;
#[cfg(feature = "tls")]
type Secure = TokioIo<tokio_rustls::server::TlsStream<WriteStall<TcpStream>>>;

/// A connection whose protocol is known.
enum Opened {
    Http1(Plain),
    Http2(Plain),
    /// A WebSocket handshake (HTTP/1.1, cleartext) to answer without hyper, and what the client
    /// sent after its head.
    WebSocket(
        WriteStall<TcpStream>,
        Box<axum::http::Request<axum::body::Body>>,
        Vec<u8>,
    ),
    /// TLS's state is more than a KiB: boxed, so that it is no room in the others.
    #[cfg(feature = "tls")]
    Https1(Box<Secure>),
    #[cfg(feature = "tls")]
    Https2(Box<Secure>),
}

impl Opened {
    /// A WebSocket handshake to answer without hyper, its request given the client's address
    /// (`ConnectInfo`); anything else back as it was.
    fn direct(self, remote: SocketAddr) -> Result<direct::Handshake, Opened> {
        match self {
            Opened::WebSocket(stream, mut request, early) => {
                request.extensions_mut().insert(ConnectInfo(remote));
                Ok((stream, request, early))
            }
            other => Err(other),
        }
    }

    /// Counts the connection among the open ones (`nitrous_connections`) until the guard drops.
    fn counted(self) -> (Opened, telemetry::OpenConnection) {
        let (http2, tls) = match &self {
            Opened::Http1(_) | Opened::WebSocket(..) => (false, false),
            Opened::Http2(_) => (true, false),
            #[cfg(feature = "tls")]
            Opened::Https1(_) => (false, true),
            #[cfg(feature = "tls")]
            Opened::Https2(_) => (true, true),
        };
        (self, telemetry::OpenConnection::new(http2, tls))
    }
}

/// The TLS handshake and ALPN's choice, or in cleartext a look at the first bytes; `None` if the
/// client left or failed the handshake.
async fn open(protocols: &Protocols, stream: TcpStream) -> Option<Opened> {
    let limits = &protocols.limits;
    #[cfg(feature = "tls")]
    if let Some(tls) = &protocols.tls {
        let stream = WriteStall::new(stream, limits.write_timeout);
        // Boxed: a TLS handshake's state is a KiB and more, and this future's size is every
        // connection's (see `serve`).
        let stream = match Box::pin(tls.acceptor.accept(stream)).await {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!("nitrous: TLS handshake failed: {error}");
                return None;
            }
        };
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = Box::new(TokioIo::new(stream));
        return Some(if h2 {
            Opened::Https2(io)
        } else {
            Opened::Https1(io)
        });
    }
    let max_headers = limits.max_headers.unwrap_or(DEFAULT_MAX_HEADERS);
    let first = preface::read(&stream, protocols.h2c, limits.max_header_bytes, max_headers);
    let first = first.await.ok()?;
    let stream = WriteStall::new(stream, limits.write_timeout);
    Some(match first {
        First::Http2(read) => Opened::Http2(TokioIo::new(Rewind::new(read, stream))),
        First::WebSocket(request, early) => Opened::WebSocket(stream, request, early),
        First::Http1(read) => Opened::Http1(TokioIo::new(Rewind::new(read, stream))),
    })
}

/// hyper's limit on a request's headers when none is set.
const DEFAULT_MAX_HEADERS: usize = 100;

/// `future`, given up (`None`) after `limit` when there is one.
async fn bounded<T>(limit: Option<Duration>, future: impl Future<Output = Option<T>>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok().flatten(),
        None => future.await,
    }
}

/// The router as hyper's service: the client's address for `ConnectInfo`, bodies that stall
/// cut, and a note of each request (for the shutdown's first-request grace).
fn service(
    router: Router,
    remote: SocketAddr,
    body_timeout: Option<Duration>,
    requested: Arc<Notify>,
) -> impl hyper::service::Service<
    axum::http::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>>
             + Send
             + 'static,
> + Clone
+ Send
+ 'static {
    hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
        requested.notify_one();
        request.extensions_mut().insert(ConnectInfo(remote));
        let request = request.map(|body| match body_timeout {
            Some(limit) => axum::body::Body::new(BodyStall::new(body, limit)),
            None => axum::body::Body::new(body),
        });
        router.clone().oneshot(request)
    })
}

/// Drives hyper's connection `conn` to its end; once the server stops, lets it answer what is in
/// flight (or a first request within [`FIRST_REQUEST_GRACE`]), then `shut_down` asks it to close
/// (HTTP/1.1 closes once idle, HTTP/2 sends GOAWAY). `None` if the grace period ran out.
async fn drive<C, E>(
    conn: C,
    shut_down: impl FnOnce(Pin<&mut C>),
    requested: &Notify,
    stage: &mut watch::Receiver<Stage>,
) -> Option<Result<(), E>>
where
    C: Future<Output = Result<(), E>>,
{
    tokio::pin!(conn);
    // One receiver per connection, so the sender's count is the connections'.
    let outcome = tokio::select! {
        outcome = conn.as_mut() => outcome,
        () = reached(stage, Stage::Stopping) => {
            // A request seen before (or within the grace) left a permit: no wait.
            let first = tokio::time::timeout(FIRST_REQUEST_GRACE, requested.notified());
            tokio::select! {
                outcome = conn.as_mut() => outcome,
                () = reached(stage, Stage::Dropped) => return None,
                _ = first => {
                    shut_down(conn.as_mut());
                    tokio::select! {
                        outcome = conn.as_mut() => outcome,
                        () = reached(stage, Stage::Dropped) => return None,
                    }
                }
            }
        }
    };
    Some(outcome)
}

/// Turns Nagle's algorithm off on the connection when asked ([`Serve::tcp_nodelay`]). A socket
/// that refuses is served anyway: the option costs latency, never correctness.
///
/// [`Serve::tcp_nodelay`]: super::Serve::tcp_nodelay
fn nodelay(stream: &TcpStream, enabled: bool) {
    if enabled && let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("nitrous: TCP_NODELAY refused: {error}");
    }
}

/// How long, after the shutdown signal, a connection that has not sent a request yet may take to
/// send one: it was accepted, so its client expects an answer.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection's task allocates this future and moves it once (the session then runs
    /// in the same task, so the future is boxed: see `serve`'s accept loop). hyper's connection
    /// inline made it 10 KiB, a TLS handshake's state 1.3; both are boxed on their own paths.
    /// The bound is loose (debug builds and compilers lay futures out differently); what it
    /// catches is something that size coming back.
    #[tokio::test]
    async fn a_connections_future_holds_neither_hyper_nor_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (stream, remote) = accepted.unwrap();
        let (_stage, stage) = watch::channel(Stage::Serving);
        let protocols = Arc::new(Protocols::new(Limits::default()));
        let future = serve(protocols, stream, remote, Router::new(), stage);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "the connection's future is {size} bytes");
        drop((future, client));
    }

    /// What `Serve::tcp_nodelay` sets, on a real accepted socket, as a connection starts:
    /// Nagle off by default, left as the system has it when turned off.
    #[tokio::test]
    async fn a_connection_has_nagle_off_unless_asked_to_keep_it() {
        use futures_util::FutureExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        for (asked, expected) in [(None, true), (Some(false), false), (Some(true), true)] {
            let client = TcpStream::connect(listener.local_addr().unwrap());
            let (_client, accepted) = tokio::join!(client, listener.accept());
            let (stream, remote) = accepted.unwrap();
            // The same socket under a second descriptor, to read its option once `serve` has it.
            let stream = stream.into_std().unwrap();
            let same_socket = stream.try_clone().unwrap();
            let stream = TcpStream::from_std(stream).unwrap();
            assert!(
                !same_socket.nodelay().unwrap(),
                "Linux accepts with Nagle on"
            );
            let mut limits = Limits::default();
            if let Some(asked) = asked {
                limits.nodelay = asked;
            }
            let (_stage, stage) = watch::channel(Stage::Serving);
            let protocols = Arc::new(Protocols::new(limits));
            let mut future = std::pin::pin!(serve(protocols, stream, remote, Router::new(), stage));
            // Its first poll waits for the request, having set up the socket.
            assert!(future.as_mut().now_or_never().is_none());
            assert_eq!(same_socket.nodelay().unwrap(), expected, "asked: {asked:?}");
        }
    }
}
