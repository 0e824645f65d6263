//! `ws://host/ws/feed`: `upgrade` reads the user the auth middleware attached (the Rust form of
//! Nitro's `event.context`) and keeps it as the peer's context.

use nitrous::axum::Extension;
use nitrous::ws::{Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};

use crate::guarded::User;

#[derive(Default)]
pub struct Feed;

impl WebSocketHandler for Feed {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let Extension(user) = request.extract::<Extension<User>>().await?;
        Ok(Upgrade::accept().context(user))
    }

    async fn open(&self, peer: &Peer) {
        if let Some(user) = peer.context::<User>() {
            peer.send(format!("welcome {}", user.name));
        }
    }
}
