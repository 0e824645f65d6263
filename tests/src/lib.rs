//! The fixture apps of the integration tests: every file convention, served by `routes!`.

// The prefix tests mount the same routes folders a second time under other prefixes.
#![allow(clippy::duplicate_mod)]
// Route files are written the way users write them (the seed's `pub struct Chat;`).
#![allow(missing_debug_implementations)]
// A fixture, not an API: each route file says what it is for in its first lines, and some
// folders are mounted twice (the prefix tests), which rustc's lint counts twice.
#![allow(missing_docs)]

nitrous::routes!(state = AppState);

pub mod recording;

/// The fixture's router state, reached by handlers through `State<AppState>` and by the stateful
/// WebSocket handler through `FromRef`.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    pub greeting: &'static str,
    pub events: std::sync::Arc<Events>,
    /// Peers the keeper route holds on to past their sessions, as an app might in a map.
    pub kept: std::sync::Arc<std::sync::Mutex<Vec<nitrous::ws::Peer>>>,
}

/// Retains what `NITROUS_RETAIN` names (`news=200,todos:*=50`), for the server binaries.
pub fn retain_from_env(hub: &nitrous::Hub) {
    for rule in std::env::var("NITROUS_RETAIN")
        .unwrap_or_default()
        .split(',')
    {
        let Some((pattern, capacity)) = rule.split_once('=') else {
            continue;
        };
        let capacity = capacity
            .parse()
            .unwrap_or_else(|_| panic!("NITROUS_RETAIN: {rule:?} is not pattern=capacity"));
        hub.retain(pattern, capacity);
    }
}

/// Tracks presence on what `NITROUS_PRESENCE` names (`room:*,lobby`), for the server binaries.
pub fn track_from_env(hub: &nitrous::Hub) {
    let patterns = std::env::var("NITROUS_PRESENCE").unwrap_or_default();
    for pattern in patterns.split(',').filter(|p| !p.is_empty()) {
        hub.track_presence(pattern);
    }
}

/// The wall-clock time of day as `HH:MM:SS` (UTC), for the clock.
pub fn now_hms() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// What the probe handler's hooks did, in order and when (by tokio's clock, so paused-time tests
/// see the server's own instants), for tests to wait on.
#[derive(Debug, Default)]
pub struct Events {
    log: std::sync::Mutex<Vec<(tokio::time::Instant, String)>>,
    changed: tokio::sync::Notify,
}

impl Events {
    pub fn push(&self, event: String) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((tokio::time::Instant::now(), event));
        self.changed.notify_waiters();
    }

    pub fn all(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().map(|(_, event)| event.clone()).collect()
    }

    /// When the first event starting with `prefix` happened.
    pub fn at(&self, prefix: &str) -> Option<tokio::time::Instant> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .find(|(_, event)| event.starts_with(prefix))
            .map(|(at, _)| *at)
    }

    /// Waits until an event starts with `prefix` and returns it; gives up after five seconds with
    /// the whole log, so a missing event fails the test instead of hanging it.
    pub async fn wait_for(&self, prefix: &str) -> String {
        let found = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if let Some(event) = self.all().into_iter().find(|e| e.starts_with(prefix)) {
                    return event;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), found).await {
            Ok(event) => event,
            Err(_) => panic!(
                "no event starting with {prefix:?}; events: {:?}",
                self.all()
            ),
        }
    }
}

pub mod guarded;

/// Analog's newer layout: the routes folder has an `api/` subfolder, so nothing is prefixed.
pub mod api_layout {
    nitrous::routes!(dir = "src/api_layout");
}

/// The main fixture with the prefix turned off.
pub mod unprefixed {
    nitrous::routes!(
        dir = "src/server/routes",
        prefix = "",
        state = crate::AppState
    );
}

/// The `api/` layout with a prefix named in the call.
pub mod custom_prefix {
    nitrous::routes!(dir = "src/api_layout", prefix = "/v2");
}
