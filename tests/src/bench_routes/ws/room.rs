//! Bench: one room at scale. Every peer joins the topic `room` when it opens (then says `ready`,
//! so a client knows its join is done) and gets back what it sends; `POST /api/room` publishes
//! to all of them.

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

/// The room handler.
#[derive(Default)]
pub struct Room;

impl WebSocketHandler for Room {
    fn options(&self) -> Options {
        Options::default().allowed_origins(AllowedOrigins::Any).no_heartbeat()
    }

    async fn open(&self, peer: &Peer) {
        peer.subscribe("room");
        peer.send("ready");
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.send(message);
    }
}
