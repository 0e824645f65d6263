//! A resumable subscription written with no `topic` or `topic_gap` hook: messages arrive as they
//! were published, and a gap as nitrous's default frame.

use nitrous::ws::{Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};

#[derive(Default)]
pub struct ResumedPlainly;

/// The reconnect URL's query.
#[derive(serde::Deserialize)]
struct Join {
    since: Option<String>,
}

/// What the page saw last.
struct Since(Option<String>);

impl WebSocketHandler for ResumedPlainly {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let join: Join = request.query()?;
        Ok(Upgrade::accept().context(Since(join.since)))
    }

    async fn open(&self, peer: &Peer) {
        peer.send("subscribed");
        let since = peer.context::<Since>().and_then(|s| s.0.as_deref());
        peer.subscribe_from("feed", since);
    }
}
