//! A route in namespace `support` (`/ws/ns/support`): its peers subscribe to and publish on `chat`,
//! which is the namespace's own, apart from the app-wide `chat` and the other namespace's.

use nitrous::ws::{Message, Options, Peer, WebSocketHandler};

#[derive(Default)]
pub struct Namespaced;

impl WebSocketHandler for Namespaced {
    fn options(&self) -> Options {
        Options::default().namespace("support")
    }

    async fn open(&self, peer: &Peer) {
        peer.subscribe("chat");
        peer.send(format!("ready in {} on {:?}", peer.namespace().unwrap_or("-"), peer.topics()));
    }

    async fn message(&self, peer: &Peer, message: Message) {
        peer.publish("chat", message);
    }
}
