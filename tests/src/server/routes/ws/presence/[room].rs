//! Presence on topic `room:{room}` (tracked when the server's `NITROUS_PRESENCE` names it):
//! `/ws/presence/{room}?name=..` joins with `{"name": ..}`; `who` answers the members on every
//! instance (all pages) and their count; other text goes to the room. The room's joins and leaves
//! reach the client as the hub sends them: `{"type":"nitrous-presence",..}` text.

use nitrous::presence::Page;
use nitrous::ws::{Message, Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};
use serde_json::json;

#[derive(Default)]
pub struct PresenceRoom;

#[derive(serde::Deserialize)]
struct Name {
    name: String,
}

fn topic(peer: &Peer) -> String {
    format!("room:{}", peer.param("room"))
}

impl WebSocketHandler for PresenceRoom {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let Name { name } = request.query()?;
        Ok(Upgrade::accept().context(name))
    }

    async fn open(&self, peer: &Peer) {
        let name = peer.context::<String>().cloned().unwrap_or_default();
        if let Err(e) = peer.join(&topic(peer), &json!({ "name": name })) {
            peer.send(json!({ "type": "refused", "error": e.to_string() }));
        }
    }

    async fn message(&self, peer: &Peer, message: Message) {
        let topic = topic(peer);
        if message.text() != "who" {
            peer.publish(&topic, message);
            return;
        }
        let hub = peer.hub();
        let mut members = Vec::new();
        let mut page = Page::first(100);
        let everywhere = loop {
            let found = hub.presence(&topic, page).await;
            members.extend(found.members);
            match found.next {
                Some(next) => page = Page::after(next, 100),
                None => break found.everywhere,
            }
        };
        let count = hub.presence_count(&topic).await;
        peer.send(json!({
            "type": "who",
            "members": members,
            "everywhere": everywhere,
            "count": count.count,
            "count_everywhere": count.everywhere,
        }));
    }
}
