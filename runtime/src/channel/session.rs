//! What a channel keeps per peer, in the peer's context: the app's own context, and the
//! protocol's state (whether the client said hello, what it resumes, the last request id).

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The peer's context on a channel route.
pub(super) struct Session {
    /// What the route's `upgrade` attached.
    pub(super) app: Option<Box<dyn Any + Send + Sync>>,
    /// The client said hello: read on every frame, without the lock.
    opened: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// From `hello`, for the topics `open` subscribes to; cleared once `open` has run.
    resume: HashMap<String, String>,
    last_id: Option<u64>,
}

/// Whether a frame's id may be handled.
pub(super) enum Id {
    Fresh,
    /// Not above the previous one's.
    Stale(u64),
}

impl Session {
    pub(super) fn new(app: Option<Box<dyn Any + Send + Sync>>) -> Session {
        Session {
            app,
            opened: AtomicBool::new(false),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the channel open, with what the client resumes; false when it was open already.
    pub(super) fn open(&self, resume: HashMap<String, String>) -> bool {
        // Hooks of one peer run one at a time, so nothing opens it between the check and the set.
        if self.is_open() {
            return false;
        }
        self.state().resume = resume;
        self.opened.store(true, Ordering::Release);
        true
    }

    pub(super) fn is_open(&self) -> bool {
        self.opened.load(Ordering::Acquire)
    }

    /// `open` has run: later subscriptions start live.
    pub(super) fn opened(&self) {
        self.state().resume = HashMap::new();
    }

    /// The offset the client saw last on `topic`, if it is resuming it.
    pub(super) fn resume_from(&self, topic: &str) -> Option<String> {
        self.state().resume.get(topic).cloned()
    }

    /// Ids increase within a connection.
    pub(super) fn take_id(&self, id: u64) -> Id {
        let mut state = self.state();
        match state.last_id {
            Some(last) if id <= last => Id::Stale(last),
            _ => {
                state.last_id = Some(id);
                Id::Fresh
            }
        }
    }
}
