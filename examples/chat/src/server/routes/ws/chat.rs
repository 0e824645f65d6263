//! The seed's chat handler (Analog's `src/server/routes/ws/chat.ts`), in Rust: `ws://host/ws/chat`,
//! made resumable: the room's messages are retained (`hub.retain("chat", ..)` in `main.rs`), each
//! reaches the page with its offset, and a page that reconnects (`?since=OFFSET`) gets what it
//! missed, once. One change from the seed: a message goes to the whole room through the hub, the
//! sender included, rather than echoed to the sender and published to the others, so the
//! sender's copy carries its offset too.

use nitrous::Payload;
use nitrous::ws::{
    Message, Peer, PeerContext, Refusal, TopicGap, TopicMessage, Upgrade, UpgradeRequest,
    WebSocketHandler,
};
use serde_json::{Value, json};

/// The chat room: everyone subscribed to `chat` hears what everyone says.
#[derive(Default)]
pub struct Chat;

/// The reconnect URL's query: the offset the page saw last.
#[derive(serde::Deserialize)]
struct Join {
    since: Option<String>,
}

/// The offset the page saw last, kept for `open`.
pub struct Since(Option<String>);

impl PeerContext for Chat {
    type Context = Since;
}

impl WebSocketHandler for Chat {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        // A query that does not parse is refused with 400 and the reason.
        let join: Join = request.query()?;
        Ok(Upgrade::accept().context_of::<Self>(Since(join.since)))
    }

    async fn open(&self, peer: &Peer) {
        peer.send(json!({ "user": "server", "message": format!("Welcome {peer}!") }));
        peer.publish("chat", json!({ "user": "server", "message": format!("{peer} joined!") }));
        let since = peer.context_of::<Self>().and_then(|since| since.0.as_deref());
        peer.subscribe_from("chat", since);
    }

    async fn message(&self, peer: &Peer, message: Message) {
        if message.text().contains("ping") {
            peer.send(json!({ "user": "server", "message": "pong" }));
        } else {
            let msg = json!({ "user": peer.to_string(), "message": message.to_string() });
            let _ = peer.hub().publish("chat", &msg); // the room, this peer included
        }
    }

    async fn close(&self, peer: &Peer, _close: nitrous::ws::Close) {
        peer.publish("chat", json!({ "user": "server", "message": format!("{peer} left!") }));
    }

    /// Each room message, with where it is in the room's history.
    fn topic(&self, _peer: &Peer, message: TopicMessage<'_>) -> Option<Payload> {
        let mut body: Value = serde_json::from_str(&message.text()).ok()?;
        body["offset"] = json!(message.offset().map(|offset| offset.to_string()));
        Some(Payload::text(body.to_string()))
    }

    /// The page was away longer than the room keeps.
    fn topic_gap(&self, _peer: &Peer, _gap: TopicGap<'_>) -> Option<Payload> {
        let notice = "you were away longer than the room keeps: some messages are not shown";
        Some(Payload::text(json!({ "user": "server", "message": notice }).to_string()))
    }
}
