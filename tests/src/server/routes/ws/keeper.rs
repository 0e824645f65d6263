//! A handler that keeps a clone of every peer, as an app that tracks its users in a map does; the
//! clones outlive their sessions.

use std::sync::{Arc, Mutex};

use nitrous::axum::extract::FromRef;
use nitrous::ws::{Close, Peer, WebSocketHandler};

use crate::{AppState, Events};

pub struct Keeper {
    kept: Arc<Mutex<Vec<Peer>>>,
    events: Arc<Events>,
}

impl FromRef<AppState> for Keeper {
    fn from_ref(state: &AppState) -> Self {
        Keeper { kept: state.kept.clone(), events: state.events.clone() }
    }
}

impl WebSocketHandler for Keeper {
    async fn open(&self, peer: &Peer) {
        peer.subscribe("kept");
        self.kept.lock().unwrap().push(peer.clone());
        peer.send("in");
    }

    async fn close(&self, peer: &Peer, close: Close) {
        self.events.push(format!("keeper closed {} {} {}", close.code, peer.topics().join(","), peer.buffered_amount()));
    }
}
