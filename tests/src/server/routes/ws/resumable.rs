//! A resumable subscription as a page uses one: the page passes the last offset it saw as
//! `?since=` when it reconnects; every topic message reaches it with its offset, and a gap (it
//! was away too long) as a message of its own.

use nitrous::Payload;
use nitrous::ws::{Peer, Refusal, TopicGap, TopicMessage, Upgrade, UpgradeRequest, WebSocketHandler};
use serde_json::json;

#[derive(Default)]
pub struct Resumable;

/// The reconnect URL's query.
#[derive(serde::Deserialize)]
struct Join {
    since: Option<String>,
}

/// What the page saw last.
struct Since(Option<String>);

impl WebSocketHandler for Resumable {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let join: Join = request.query()?;
        Ok(Upgrade::accept().context(Since(join.since)))
    }

    async fn open(&self, peer: &Peer) {
        // Sent before the subscription, so it comes before what the subscription replays.
        peer.send("subscribed");
        let since = peer.context::<Since>().and_then(|s| s.0.as_deref());
        peer.subscribe_from("feed", since);
    }

    fn topic(&self, _peer: &Peer, message: TopicMessage<'_>) -> Option<Payload> {
        let offset = message.offset().map(|o| o.to_string());
        Some(Payload::text(json!({ "offset": offset, "text": message.text() }).to_string()))
    }

    fn topic_gap(&self, _peer: &Peer, gap: TopicGap<'_>) -> Option<Payload> {
        let after = gap.after().map(|o| o.to_string());
        let resumed_at = gap.resumed_at().map(|o| o.to_string());
        Some(Payload::text(json!({ "gap": { "after": after, "resumed_at": resumed_at } }).to_string()))
    }
}
