//! The [`Channel`] trait: a typed WebSocket route's hooks.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ChannelPeer;
use crate::ws::{Close, Error, Options, Refusal, Upgrade, UpgradeRequest};

/// A channel route's message types and hooks. `impl Channel for T` in a route file makes its
/// route a channel (`docs/protocol.md`); every hook is optional.
///
/// Hooks of one peer run in order, one at a time, as for a [`WebSocketHandler`]: `upgrade`, then
/// `open` once the client has said hello, then `message`, `request` (see [`Requests`]) and
/// `may_subscribe` in arrival order, then `close`. A frame that does not decode gets a notice and
/// runs no hook; the peer stays.
///
/// The value is built once per router, as a WebSocket handler is: `#[derive(Default)]`, or
/// `impl FromRef<AppState>`.
///
/// [`WebSocketHandler`]: crate::ws::WebSocketHandler
/// [`Requests`]: super::Requests
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a channel",
    label = "write `impl nitrous::channel::Channel for {Self}`, naming `type In` and `type Out`"
)]
pub trait Channel: Send + Sync + Sized + 'static {
    /// What the client sends (`message` frames).
    type In: DeserializeOwned + Send + 'static;
    /// What the server sends: to one client (`send`) and on topics (`publish`).
    type Out: Serialize + Send + Sync + 'static;

    /// The route's limits and policies, as for a WebSocket route; read once.
    fn options(&self) -> Options {
        Options::default()
    }

    /// Decides on the upgrade request, as [`WebSocketHandler::upgrade`] does. The channel's
    /// subprotocol is chosen for you.
    ///
    /// [`WebSocketHandler::upgrade`]: crate::ws::WebSocketHandler::upgrade
    fn upgrade(
        &self,
        request: &UpgradeRequest,
    ) -> impl Future<Output = Result<Upgrade, Refusal>> + Send {
        let _ = request;
        async { Ok(Upgrade::accept()) }
    }

    /// The client said hello: the channel is open. A topic subscribed here resumes after the
    /// offset the client last saw on it, when it is reconnecting.
    fn open(&self, peer: &ChannelPeer<'_, Self>) -> impl Future<Output = ()> + Send {
        let _ = peer;
        async {}
    }

    /// A message arrived, decoded.
    fn message(
        &self,
        peer: &ChannelPeer<'_, Self>,
        message: Self::In,
    ) -> impl Future<Output = ()> + Send {
        let _ = (peer, message);
        async {}
    }

    /// Whether the client may subscribe itself to `topic` (a `subscribe` frame). By default it
    /// may not: a route decides which topics its clients read.
    fn may_subscribe(
        &self,
        peer: &ChannelPeer<'_, Self>,
        topic: &str,
    ) -> impl Future<Output = bool> + Send {
        let _ = (peer, topic);
        async { false }
    }

    /// The channel closed; runs once for every channel that opened.
    fn close(&self, peer: &ChannelPeer<'_, Self>, close: Close) -> impl Future<Output = ()> + Send {
        let _ = (peer, close);
        async {}
    }

    /// A hook failed or the connection broke; `close` follows.
    fn error(&self, peer: &ChannelPeer<'_, Self>, error: Error) -> impl Future<Output = ()> + Send {
        let _ = (peer, error);
        async {}
    }
}
