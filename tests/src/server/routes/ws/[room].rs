//! A WebSocket route with a param: `/ws/{room}`. Each room is a topic.

use nitrous::ws::{Message, Peer, WebSocketHandler};

#[derive(Default)]
pub struct Room;

impl WebSocketHandler for Room {
    async fn open(&self, peer: &Peer) {
        let room = peer.param("room").to_owned();
        peer.send(format!("joined {room}"));
        peer.subscribe(&room);
    }

    async fn message(&self, peer: &Peer, message: Message) {
        let room = peer.param("room").to_owned();
        peer.publish(&room, format!("{room}: {message}"));
    }
}
