//! `nitrous::serve`: an HTTP/1.1 and HTTP/2 server for a `Router` (HTTPS with the `tls` feature),
//! with peer addresses, timeouts for clients that never finish a request, and a graceful shutdown
//! with a deadline.
//!
//! axum's own `serve` builds hyper without a timer, so hyper's header timeout never fires and a
//! client that opens connections and sends nothing holds them (and their file descriptors)
//! forever; its graceful shutdown waits for every connection without a deadline. This loop is the
//! same accept-and-spawn, with both bounded.

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::shutdown;

mod connection;
mod defer_accept;
mod direct;
mod listen;
mod preface;
mod rewind;
#[cfg(feature = "tls")]
mod tls;

pub use listen::listen;
#[cfg(feature = "tls")]
pub use tls::Tls;

use connection::Protocols;

/// Serves `router` on `listener` until Ctrl-C or SIGTERM (see [`Serve`] for the limits and how to
/// change them).
///
/// Handlers can extract the client's address with
/// `axum::extract::ConnectInfo<std::net::SocketAddr>`.
///
/// ```no_run
/// # async fn run(router: nitrous::axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// nitrous::serve(listener, router).await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        signal: Box::pin(shutdown_signal()),
        limits: Limits::default(),
        grace: SESSION_GRACE,
        defer_accept: true,
        #[cfg(feature = "tls")]
        tls: None,
    }
}

/// A server to `.await`, from [`serve`]; its settings can be changed first.
///
/// | setting | default | what a client sees when it is exceeded |
/// |---|---|---|
/// | [`header_timeout`](Serve::header_timeout) | 30 s | a connection that has not sent a whole request head within it, after opening or after its last response (an idle keep-alive connection), is closed; HTTP/2's preface or TLS's handshake must come within it |
/// | [`max_header_bytes`](Serve::max_header_bytes) | 64 KiB | a request head (request line and headers) over it gets 431 and the connection is closed; HTTP/2's header lists are bounded by it too |
/// | [`max_concurrent_streams`](Serve::max_concurrent_streams) | 128 | HTTP/2 streams past it are refused; streams reset as fast as they are opened (rapid reset) get GOAWAY |
/// | [`http2_pings`](Serve::http2_pings) | 30 s, 20 s | an HTTP/2 connection that does not answer a ping is closed |
/// | [`max_headers`](Serve::max_headers) | 100 | a request with more headers gets 431 and the connection is closed |
/// | [`body_timeout`](Serve::body_timeout) | 30 s | a request body that stops arriving for that long fails to read (the handler's extractor answers 400) and the connection is closed |
/// | [`write_timeout`](Serve::write_timeout) | 30 s | a connection that takes none of what the server writes for that long (a response, an event stream, a WebSocket's frames) is closed |
/// | [`shutdown_grace`](Serve::shutdown_grace) | 10 s | after the signal: WebSocket peers get 1001 (1012 under `cargo nitrous dev`) and event streams end at once; a connection accepted but silent gets 1 s to send its request; connections still open when the grace period ends are dropped, and `serve` returns |
///
/// When `accept` fails because the process is out of file descriptors, the server logs it, waits
/// a second and goes on accepting; connections the timeouts close give their descriptors back.
/// Request bodies are bounded by the extractors (axum's `DefaultBodyLimit`, 2 MB).
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    limits: Limits,
    grace: Duration,
    /// The listener wakes the server for a connection once it has sent something.
    defer_accept: bool,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
}

/// What one connection may do.
#[derive(Clone, Copy, Debug)]
struct Limits {
    header_timeout: Option<Duration>,
    max_header_bytes: usize,
    /// hyper's default (100) unless set: setting it makes hyper allocate headers on the heap.
    max_headers: Option<usize>,
    body_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Cleartext HTTP/2 (prior knowledge) beside HTTP/1.1.
    h2c: bool,
    /// HTTP/2 streams open at once on one connection.
    max_streams: u32,
    /// HTTP/2 pings on a connection: how often, and how long an answer may take.
    ping_interval: Option<Duration>,
    ping_timeout: Duration,
    /// Nagle's algorithm off (`TCP_NODELAY`) on every connection.
    nodelay: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Some(HEADER_TIMEOUT),
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: None,
            body_timeout: Some(BODY_TIMEOUT),
            write_timeout: Some(WRITE_TIMEOUT),
            h2c: true,
            max_streams: MAX_STREAMS,
            ping_interval: Some(PING_INTERVAL),
            ping_timeout: PING_TIMEOUT,
            nodelay: true,
        }
    }
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .field("grace", &self.grace)
            .field("defer_accept", &self.defer_accept)
            .finish_non_exhaustive()
    }
}

/// How long a connection may take to send a request head: from opening, and between requests on
/// a keep-alive connection. hyper's default; nginx uses 60 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes a request head (the request line and the headers) may take. hyper's own bound
/// is about 400 KiB, held per connection while it is read; nginx allows 32 KiB, Node 16 KiB.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// How long a request body may stop arriving before the read fails.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write may wait for the client to read before the connection is closed.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many HTTP/2 streams (requests, event streams, WebSockets) one connection may have open at
/// once; nginx's default is 128, hyper's 200.
pub const MAX_STREAMS: u32 = 128;

/// How often an HTTP/2 connection is pinged, so that one whose client vanished is noticed.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// How long an HTTP/2 ping may go unanswered before the connection is closed.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `serve` waits after the shutdown signal for connections and WebSocket sessions to
/// finish (each peer gets close code 1001, or 1012 under `cargo nitrous dev`); then it drops
/// what is left and returns.
pub const SESSION_GRACE: Duration = Duration::from_secs(10);

impl Serve {
    /// Stops when `signal` completes instead of on Ctrl-C or SIGTERM (axum's name, and the same
    /// graceful shutdown as on a signal).
    ///
    /// ```no_run
    /// # async fn run(router: nitrous::axum::Router) -> std::io::Result<()> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// // later: stop.send(()) shuts the server down
    /// # drop(stop);
    /// nitrous::serve(listener, router)
    ///     .with_graceful_shutdown(async {
    ///         let _ = stopped.await;
    ///     })
    ///     .await
    /// # }
    /// ```
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Serve
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Box::pin(signal);
        self
    }

    /// How long a connection may take to send a whole request head, from opening and between
    /// requests (default [`HEADER_TIMEOUT`], 30 s); then it is closed. `None` waits forever,
    /// which lets any client hold connections open without sending anything.
    pub fn header_timeout(mut self, timeout: Option<Duration>) -> Serve {
        self.limits.header_timeout = timeout;
        self
    }

    /// How many bytes a request head may take (default [`MAX_HEADER_BYTES`], 64 KiB); a larger
    /// one gets 431. At least 8 KiB.
    pub fn max_header_bytes(mut self, bytes: usize) -> Serve {
        self.limits.max_header_bytes = bytes.max(8 << 10);
        self
    }

    /// How many headers a request may have (default 100, hyper's); more get 431. Setting it
    /// makes hyper keep each request's headers on the heap rather than the stack (it measures
    /// about 5% slower per request).
    pub fn max_headers(mut self, count: usize) -> Serve {
        self.limits.max_headers = Some(count);
        self
    }

    /// How long a request body may stop arriving (default [`BODY_TIMEOUT`], 30 s) before reading
    /// it fails; the time between its bytes, not the whole upload. `None` waits forever.
    pub fn body_timeout(mut self, timeout: Option<Duration>) -> Serve {
        self.limits.body_timeout = timeout;
        self
    }

    /// How long a write may wait for the client to take the server's bytes (default
    /// [`WRITE_TIMEOUT`], 30 s) before the connection is closed; a client that reads slowly but
    /// steadily is never cut. `None` waits forever, which lets a client that never reads hold its
    /// connection.
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Serve {
        self.limits.write_timeout = timeout;
        self
    }

    /// How long the shutdown may take, from the signal to `serve` returning (default
    /// [`SESSION_GRACE`], 10 s), whatever the clients do.
    pub fn shutdown_grace(mut self, grace: Duration) -> Serve {
        self.grace = grace;
        self
    }

    /// Whether a cleartext connection may speak HTTP/2 with prior knowledge (default yes), as
    /// proxies and gRPC-style clients do: the server looks at a connection's first bytes for
    /// HTTP/2's preface. Browsers speak HTTP/2 only over TLS ([`Serve::tls`], feature `tls`).
    /// (The first bytes are looked at either way, for a WebSocket handshake `serve` answers
    /// itself: see the README's "HTTPS and HTTP/2".)
    pub fn h2c(mut self, enabled: bool) -> Serve {
        self.limits.h2c = enabled;
        self
    }

    /// How many HTTP/2 streams one connection may have open at once (default [`MAX_STREAMS`],
    /// 128); a client opening more has them refused (`REFUSED_STREAM`) and may retry them.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Serve {
        self.limits.max_streams = streams.max(1);
        self
    }

    /// How often HTTP/2 connections are pinged (default [`PING_INTERVAL`], 30 s) and how long an
    /// answer may take (default [`PING_TIMEOUT`], 20 s) before the connection is closed. `None`
    /// sends no pings.
    pub fn http2_pings(mut self, interval: Option<Duration>, timeout: Duration) -> Serve {
        self.limits.ping_interval = interval;
        self.limits.ping_timeout = timeout;
        self
    }

    /// Whether every connection has Nagle's algorithm off (`TCP_NODELAY`); on by default, as Bun,
    /// Go and nginx have it. nitrous already writes what a connection has waiting in one write
    /// per wake-up, so Nagle gathers nothing more; what it does do is hold a small write back
    /// until the client acknowledges the one before, which a client may delay by up to 40 ms
    /// (Linux's delayed acknowledgement). A typed channel's fan-out on loopback waited that long
    /// at its 99th percentile (BENCHMARKS.md, issue 23's seventh step).
    pub fn tcp_nodelay(mut self, enabled: bool) -> Serve {
        self.limits.nodelay = enabled;
        self
    }

    /// Whether the listener hands a connection over only once its client has sent something
    /// (`TCP_DEFER_ACCEPT`, Linux; elsewhere this does nothing); on by default, as in Bun (nginx:
    /// `listen ... deferred`). Every protocol `serve` speaks starts with the client, so accepting
    /// earlier only costs a read that finds nothing and a second wake-up per connection: about a
    /// sixth of a WebSocket handshake's CPU (BENCHMARKS.md, issue 23's eighth step). A client
    /// that connects and stays silent is still accepted, about a second later, and the header
    /// timeout runs from then. `false` turns the option off on the listener, one handed over by
    /// `cargo nitrous dev` or systemd included.
    pub fn tcp_defer_accept(mut self, enabled: bool) -> Serve {
        self.defer_accept = enabled;
        self
    }

    /// Serves HTTPS: every connection is TLS, and ALPN lets the client choose HTTP/2 (what
    /// browsers do, which lifts their limit of 6 connections per origin for event streams) or
    /// HTTP/1.1. Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: Tls) -> Serve {
        self.tls = Some(tls);
        self
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            router,
            mut signal,
            limits,
            grace,
            defer_accept,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        defer_accept::defer_accept(&listener, defer_accept);
        let (trigger, sessions) = shutdown::channel();
        let router = if crate::dev::enabled() {
            crate::dev::wrap(router)
        } else {
            router
        };
        // `with_state` makes each handler a route once, here: a router without it does so for
        // every request (a clone and a few boxes per layer), which is what `axum::serve` avoids
        // the same way.
        let router = router.layer(Extension(sessions)).with_state(());
        // Every connection holds a receiver: the sender's `closed` is the moment the last one ended.
        // (A `JoinSet` would wake this loop as each connection ends, which costs a thread wake-up
        // per WebSocket handshake, whose connection task ends at the upgrade.)
        let (stage_sender, stage) = watch::channel(Stage::Serving);
        #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
        let mut protocols = Protocols::new(limits);
        #[cfg(feature = "tls")]
        {
            protocols.tls = tls;
        }
        let protocols = Arc::new(protocols);
        listen::notify(listen::State::Ready);
        loop {
            let (stream, remote) = tokio::select! {
                biased;
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) if is_connection_error(&error) => continue,
                    Err(error) => {
                        // Out of file descriptors (EMFILE, ENFILE) or memory: accepting again at
                        // once would spin. Connections that time out free descriptors meanwhile.
                        tracing::error!("nitrous: accept failed: {error}; retrying in 1 s");
                        tokio::select! {
                            () = &mut signal => break,
                            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                },
            };
            // Boxed before it is spawned, and dropped before the session: a task keeps the size
            // of its future for its whole life, and a WebSocket session answered without hyper
            // runs on this task once the connection's state (a KiB) is gone.
            let connection = Box::pin(connection::serve(
                protocols.clone(),
                stream,
                remote,
                router.clone(),
                stage.clone(),
            ));
            tokio::spawn(async move {
                // Not in `if let`'s scrutinee, whose temporaries would live through the session.
                let session = connection.await;
                if let Some(session) = session {
                    session.await;
                }
            });
        }
        drop(stage);
        let deadline = Instant::now() + grace;
        drop(listener);
        listen::notify(listen::State::Stopping);
        // WebSocket peers get 1001 (1012 in dev), event streams end; connections answer what is in flight and
        // close.
        trigger.start();
        stage_sender.send_replace(Stage::Stopping);
        let drained = tokio::time::timeout_at(deadline, stage_sender.closed()).await;
        if drained.is_err() {
            tracing::warn!(
                left = stage_sender.receiver_count(),
                "nitrous: connections still open after the shutdown grace period; dropping them"
            );
            stage_sender.send_replace(Stage::Dropped);
            stage_sender.closed().await;
        }
        let left = trigger.drained_until(deadline).await;
        if left > 0 {
            tracing::warn!(
                left,
                "nitrous: WebSocket sessions still open after the shutdown grace period"
            );
        }
        Ok(())
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    /// The accept loop runs as a task of its own, on a worker thread, rather than in the future
    /// the app awaits (under `#[tokio::main]`, that is the main thread, outside the workers): a
    /// connection it spawns then starts on the same worker, where the loop's own thread would have
    /// had to wake a worker for each one. Under `strace`, 2,000 WebSocket handshakes on two
    /// workers made 12 `futex` calls this way, against 8,013 with the loop on the main thread.
    fn into_future(self) -> Self::IntoFuture {
        // In the caller's span, as it was when the loop ran in the caller's future.
        let task = AbortOnDrop(tokio::spawn(self.run().in_current_span()));
        Box::pin(async move {
            let mut task = task;
            match (&mut task.0).await {
                Ok(outcome) => outcome,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => Err(io::Error::other(format!(
                    "nitrous: the server stopped: {error}"
                ))),
            }
        })
    }
}

/// The accept loop's task, stopped (and every connection with it) when the app drops the future
/// it awaits, as it would be if the loop ran in that future.
struct AbortOnDrop(tokio::task::JoinHandle<io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where the server is in its life, as its connections see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Serving,
    /// Shutting down: answer what is in flight, then close.
    Stopping,
    /// The grace period is over: what is left is dropped.
    Dropped,
}

/// Waits until the server is at `stage` or past it; a server that is gone (its future dropped)
/// is past every stage.
async fn reached(receiver: &mut watch::Receiver<Stage>, stage: Stage) {
    let _ = receiver.wait_for(|now| *now >= stage).await;
}

/// Errors of one connection that `accept` reports; the listener is fine.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Completes on Ctrl-C, or on SIGTERM on Unix (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(
                "nitrous: cannot listen for Ctrl-C ({e}); stop the server with SIGTERM"
            );
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!(
                    "nitrous: cannot listen for SIGTERM ({e}); stop the server with Ctrl-C"
                );
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("nitrous: shutting down");
}
