// A handler declares its peers' context type once: attaching or reading another type does not
// compile (with `Peer::context::<T>()` the wrong `T` silently gives `None`).
use nitrous::ws::{Peer, PeerContext, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};

pub struct User {
    pub name: String,
}

pub struct Admin;

#[derive(Default)]
pub struct Lists;

impl PeerContext for Lists {
    type Context = User;
}

impl WebSocketHandler for Lists {
    async fn upgrade(&self, _request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        Ok(Upgrade::accept().context_of::<Self>(Admin))
    }

    async fn open(&self, peer: &Peer) {
        let _admin: Option<&Admin> = peer.context_of::<Self>();
    }
}

fn main() {}
