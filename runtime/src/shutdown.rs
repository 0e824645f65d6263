//! Graceful shutdown for long-lived connections: axum's graceful shutdown stops accepting and
//! drains requests, but an upgraded WebSocket has left hyper by then. `nitrous::serve` tells every
//! session to close (1001, or 1012 in dev) and waits, bounded, for them to finish.
//!
//! WebSocket routes register their peer sets once and are told when shutdown starts, so a session
//! waits on nothing extra per connection; event streams wait on the signal itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// The shutdown signal as sessions and event streams see it (in the request extensions).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub(crate) struct Shutdown {
    signal: watch::Receiver<bool>,
    active: Arc<Active>,
}

#[derive(Default)]
struct Active {
    count: AtomicUsize,
    idle: Notify,
    /// Told when shutdown starts; kept weakly, so a dropped router leaves nothing behind.
    closers: Mutex<Vec<Weak<dyn Closer>>>,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Active")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// What closes its own connections when shutdown starts: a WebSocket route's peers.
pub(crate) trait Closer: Send + Sync {
    fn shut_down(&self);
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

    /// Whether shutdown has started.
    pub(crate) fn is_started(&self) -> bool {
        *self.signal.borrow()
    }

    /// Has `closer` told when shutdown starts; registering it again changes nothing. A closer
    /// registered after the start is not told: check [`Shutdown::is_started`] after registering.
    pub(crate) fn register<C: Closer + 'static>(&self, closer: &Arc<C>) {
        let mut closers = self
            .active
            .closers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if closers
            .iter()
            .any(|known| std::ptr::addr_eq(known.as_ptr(), Arc::as_ptr(closer)))
        {
            return;
        }
        closers.retain(|known| known.strong_count() > 0);
        let closer: Weak<dyn Closer> = Arc::downgrade(closer) as Weak<C>;
        closers.push(closer);
    }

    /// Resolves when shutdown starts.
    pub(crate) async fn started(&mut self) {
        let _ = self.signal.wait_for(|started| *started).await;
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
        let closers: Vec<_> = self
            .active
            .closers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for closer in closers {
            closer.shut_down();
        }
    }

    /// Waits until no session runs, or `deadline` passes; returns how many were still running.
    pub(crate) async fn drained_until(&self, deadline: Instant) -> usize {
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
        let _ = tokio::time::timeout_at(deadline, wait).await;
        self.active.count.load(Ordering::Acquire)
    }
}
