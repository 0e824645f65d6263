//! A hub the routes never see: the app made one (`Hub::new()`), retained or published on it, and
//! never installed it (`router().layer(hub.layer())`), while a router answers from its own hub.
//! Every publish on it then reaches nobody, and nothing else would say so.
//!
//! Whichever comes second reports it, once per hub: a publish on an uninstalled hub, or a
//! router's own hub serving its first request while a hub the app used (retained, published or
//! subscribed on) is installed nowhere. A retain after that first request is not reported by
//! itself: the app may be setting up a hub for a router it has yet to build.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, Weak};

use super::HubInner;

/// Set once a router has answered a request from its own hub: from then on, a hub the app uses
/// without installing it is split from the routes.
static OWN_HUB_SERVES: AtomicBool = AtomicBool::new(false);

/// The hubs the app made itself, while they live.
static APP_HUBS: Mutex<Vec<Weak<HubInner>>> = Mutex::new(Vec::new());

/// Whether a hub reaches any route, and what the app did with it.
#[derive(Debug, Default)]
pub(super) struct Reach {
    /// `layer()` was called, or this is a router's own hub.
    installed: AtomicBool,
    /// The first topic the app retained, published or subscribed on.
    used_on: OnceLock<Box<str>>,
    reported: AtomicBool,
}

impl Reach {
    /// A router's own hub: its routes use it by construction.
    pub(super) fn own() -> Reach {
        let reach = Reach::default();
        reach.installed.store(true, Ordering::Relaxed);
        reach
    }

    pub(super) fn installed(&self) {
        self.installed.store(true, Ordering::Relaxed);
    }

    fn is_split(&self) -> bool {
        !self.installed.load(Ordering::Relaxed) && self.used_on.get().is_some()
    }
}

/// Keeps a hub the app made, to look at when a router's own hub starts serving.
pub(super) fn register(hub: &std::sync::Arc<HubInner>) {
    let mut hubs = APP_HUBS.lock().unwrap_or_else(|p| p.into_inner());
    hubs.retain(|hub| hub.strong_count() > 0);
    hubs.push(std::sync::Arc::downgrade(hub));
}

/// The app retained or subscribed on `topic` through `hub`.
pub(super) fn used(hub: &HubInner, topic: &str) {
    let reach = &hub.reach;
    if reach.installed.load(Ordering::Relaxed) || reach.used_on.get().is_some() {
        return;
    }
    let _ = reach.used_on.set(Box::from(topic));
}

/// The app published on `topic` through `hub`.
pub(super) fn published(hub: &HubInner, topic: &str) {
    let reach = &hub.reach;
    if reach.installed.load(Ordering::Relaxed) || reach.reported.load(Ordering::Relaxed) {
        return;
    }
    used(hub, topic);
    if OWN_HUB_SERVES.load(Ordering::Relaxed) {
        report(reach);
    }
}

/// A router answered a request from its own hub (no outer `hub.layer()`).
pub(super) fn own_hub_serves() {
    if OWN_HUB_SERVES.load(Ordering::Relaxed) || OWN_HUB_SERVES.swap(true, Ordering::AcqRel) {
        return;
    }
    let hubs: Vec<_> = {
        let hubs = APP_HUBS.lock().unwrap_or_else(|p| p.into_inner());
        hubs.iter().filter_map(Weak::upgrade).collect()
    };
    for hub in hubs {
        report(&hub.reach);
    }
}

fn report(reach: &Reach) {
    if !reach.is_split() || reach.reported.swap(true, Ordering::AcqRel) {
        return;
    }
    let topic = reach.used_on.get().map_or("", |t| &**t);
    tracing::warn!(
        topic,
        "nitrous: the app uses a hub that no router serves (first on topic {topic:?}), while the \
         routes answer from the router's own hub: nothing published on it reaches a WebSocket peer \
         or an event stream. Install it before serving: `router().layer(hub.layer())`, or publish \
         through the routes' hub (the `Hub` extractor, `peer.hub()`)"
    );
}
