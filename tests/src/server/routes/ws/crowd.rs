//! A crowd that hears only departures, for the mass-disconnect test: `open` subscribes quietly
//! (so thousands can join without a message each), `close` tells everyone left who went.

use nitrous::ws::{Close, Peer, WebSocketHandler};

#[derive(Default)]
pub struct Crowd;

impl WebSocketHandler for Crowd {
    async fn open(&self, peer: &Peer) {
        peer.subscribe("crowd");
        peer.send("in");
    }

    async fn close(&self, peer: &Peer, _close: Close) {
        peer.publish("crowd", format!("{peer} left"));
    }
}
