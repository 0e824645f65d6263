//! Graceful shutdown for long-lived connections: axum's graceful shutdown stops accepting and
//! drains requests, but an upgraded WebSocket has left hyper by then. `nitrous::serve` tells every
//! session to close (1001) and waits, bounded, for them to finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// The shutdown signal as sessions and event streams see it (in the request extensions).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Shutdown {
    signal: watch::Receiver<bool>,
    active: Arc<Active>,
}

#[derive(Debug, Default)]
struct Active {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by a session while it runs.
#[derive(Debug)]
pub(crate) struct SessionGuard(Arc<Active>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Shutdown {
    /// Registers a session; the guard keeps `serve` waiting until dropped.
    pub(crate) fn enter(&self) -> SessionGuard {
        self.active.count.fetch_add(1, Ordering::AcqRel);
        SessionGuard(self.active.clone())
    }

    /// Resolves when shutdown starts.
    pub(crate) async fn started(&mut self) {
        let _ = self.signal.wait_for(|started| *started).await;
    }
}

/// Resolves when shutdown starts; never, without a signal (a router served by something other
/// than `nitrous::serve`).
pub(crate) async fn started(shutdown: &mut Option<Shutdown>) {
    match shutdown {
        Some(shutdown) => shutdown.started().await,
        None => std::future::pending().await,
    }
}

/// The serving side: triggers the signal and waits for sessions.
#[derive(Debug)]
pub(crate) struct Trigger {
    sender: watch::Sender<bool>,
    active: Arc<Active>,
}

pub(crate) fn channel() -> (Trigger, Shutdown) {
    let (sender, signal) = watch::channel(false);
    let active = Arc::new(Active::default());
    (
        Trigger {
            sender,
            active: active.clone(),
        },
        Shutdown { signal, active },
    )
}

impl Trigger {
    pub(crate) fn start(&self) {
        self.sender.send_replace(true);
    }

    /// Waits until no session runs, or `grace` passes; returns how many were still running.
    pub(crate) async fn drained(&self, grace: Duration) -> usize {
        let wait = async {
            loop {
                let idle = self.active.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable(); // registered before the check, so no wake-up is missed
                if self.active.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(grace, wait).await;
        self.active.count.load(Ordering::Acquire)
    }
}
