//! How an accepted WebSocket handshake reaches its session. Over hyper, the connection is handed
//! over once the 101 (or HTTP/2's 200) is sent, to a task the route spawns. When `serve` answered
//! an HTTP/1.1 handshake itself (in cleartext), the route leaves the session in a slot of the
//! request's extensions, and the connection's own task runs it once it has written the 101.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;
use hyper::upgrade::OnUpgrade;

use super::stream::Stream;

/// A session, given its connection and what the client sent after the handshake that was read
/// with it.
pub(crate) type Starter =
    Box<dyn FnOnce(Stream, Vec<u8>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The slot `serve` puts in the extensions of a handshake it answers itself.
#[derive(Clone, Default)]
pub(crate) struct DirectUpgrade(Arc<Mutex<Option<Starter>>>);

impl DirectUpgrade {
    fn put(&self, starter: Starter) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(starter);
    }

    /// The session the route left, if it accepted the handshake.
    pub(crate) fn take(&self) -> Option<Starter> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Where the connection comes from once the handshake is answered.
pub(crate) enum Handoff {
    Hyper(OnUpgrade),
    Direct(DirectUpgrade),
}

impl Handoff {
    /// The request's hand-off, taken out of its extensions.
    pub(crate) fn take(parts: &mut Parts) -> Option<Handoff> {
        if let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() {
            return Some(Handoff::Hyper(on_upgrade));
        }
        parts
            .extensions
            .remove::<DirectUpgrade>()
            .map(Handoff::Direct)
    }

    /// Starts the session once the connection comes: a task of its own that waits for hyper, or
    /// the slot `serve` runs it from.
    pub(crate) fn start<F, S>(self, session: F)
    where
        F: FnOnce(Stream, Vec<u8>) -> S + Send + 'static,
        S: Future<Output = ()> + Send + 'static,
    {
        match self {
            Handoff::Hyper(on_upgrade) => {
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let stream = Stream::Upgraded(hyper_util::rt::TokioIo::new(upgraded));
                            // Awaited after the closure returns it: what the closure held is not
                            // kept beside the session.
                            // hyper hands on what it read past the request in the stream itself.
                            let session = session(stream, Vec::new());
                            session.await;
                        }
                        Err(error) => tracing::debug!("nitrous: WebSocket upgrade failed: {error}"),
                    }
                });
            }
            Handoff::Direct(slot) => {
                slot.put(Box::new(move |stream, early| {
                    Box::pin(session(stream, early))
                }));
            }
        }
    }
}
