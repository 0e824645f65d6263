//! Bench: one peer in many topics, `topic0`, `topic1`, ... A text `sub FROM TO` subscribes this
//! peer to topics FROM..TO and `unsub FROM TO` unsubscribes it, each answered with `done`;
//! `pub FROM TO` publishes the topic's number to each of them through the hub, so this peer gets
//! one message per topic.

use nitrous::ws::{AllowedOrigins, Message, Options, Peer, WebSocketHandler};

/// The many-topics handler.
#[derive(Default)]
pub struct Topics;

impl WebSocketHandler for Topics {
    fn options(&self) -> Options {
        Options::default().allowed_origins(AllowedOrigins::Any).no_heartbeat()
    }

    async fn message(&self, peer: &Peer, message: Message) {
        let text = message.text();
        let mut words = text.split(' ');
        let (Some(command), Some(from), Some(to), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            peer.send(format!("not a command: {text}"));
            return;
        };
        let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.parse::<usize>()) else {
            peer.send(format!("not a range: {text}"));
            return;
        };
        match command {
            "sub" => {
                for i in from..to {
                    peer.subscribe(&format!("topic{i}"));
                }
                peer.send("done");
            }
            "unsub" => {
                for i in from..to {
                    peer.unsubscribe(&format!("topic{i}"));
                }
                peer.send("done");
            }
            "pub" => {
                for i in from..to {
                    // Through the hub, not `peer.publish`, which skips the publishing peer.
                    if let Err(e) = peer.hub().publish(&format!("topic{i}"), i.to_string()) {
                        peer.send(format!("cannot publish: {e}"));
                        return;
                    }
                }
            }
            _ => peer.send(format!("not a command: {text}")),
        }
    }
}
