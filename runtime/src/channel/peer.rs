//! [`ChannelPeer`]: a channel's view of its peer, typed by the channel.

use std::any::Any;
use std::marker::PhantomData;

use serde::Serialize;

use super::session::Session;
use super::{Channel, frame};
use crate::Hub;
use crate::payload::Payload;
use crate::ws::{CloseCode, Peer, PeerId};

/// A channel's peer: sends and publishes the channel's `Out` type, and subscribes to topics that
/// resume by themselves when the client reconnects. [`ChannelPeer::peer`] reaches the rest
/// (params, headers, the remote address, closing).
pub struct ChannelPeer<'a, C> {
    peer: &'a Peer,
    session: &'a Session,
    channel: PhantomData<fn(&C)>,
}

impl<C> std::fmt::Debug for ChannelPeer<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPeer")
            .field("peer", &self.peer)
            .finish()
    }
}

impl<'a, C: Channel> ChannelPeer<'a, C> {
    pub(super) fn new(peer: &'a Peer, session: &'a Session) -> Self {
        ChannelPeer {
            peer,
            session,
            channel: PhantomData,
        }
    }

    /// The WebSocket peer underneath.
    pub fn peer(&self) -> &'a Peer {
        self.peer
    }

    /// Unique in this process.
    pub fn id(&self) -> PeerId {
        self.peer.id()
    }

    /// One route param by name, as [`Peer::param`].
    pub fn param(&self, name: &str) -> &'a str {
        self.peer.param(name)
    }

    /// The context the route's `upgrade` attached with `Upgrade::context`, if it is a `T`.
    pub fn context<T: Any>(&self) -> Option<&'a T> {
        self.session.app.as_ref()?.downcast_ref()
    }

    /// The hub the route publishes through.
    pub fn hub(&self) -> &'a Hub {
        self.peer.hub()
    }

    /// Sends `message` to this client (a `message` frame).
    pub fn send(&self, message: &C::Out) {
        if let Some(data) = encode(message) {
            self.peer.send(Payload::text(frame::message(&data)));
        }
    }

    /// Sends `message` to every subscriber of `topic` but this client (a `topic` frame each);
    /// [`channel::publish`](super::publish) reaches this client too.
    pub fn publish(&self, topic: &str, message: &C::Out) {
        if let Some(data) = encode(message) {
            self.peer.publish(topic, Payload::text(data));
        }
    }

    /// Subscribes this client to `topic`. In `open`, a reconnecting client resumes it after the
    /// offset it saw last (what it missed comes first, or a `gap` frame when that is gone).
    pub fn subscribe(&self, topic: &str) {
        let since = self.session.resume_from(topic);
        self.peer.subscribe_from(topic, since.as_deref());
    }

    /// [`ChannelPeer::subscribe`], joining the topic's presence with `info`
    /// ([`Peer::join`]): every subscriber, this client included, gets a `presence` frame.
    pub fn join(
        &self,
        topic: &str,
        info: &impl Serialize,
    ) -> Result<(), crate::presence::PresenceError> {
        let since = self.session.resume_from(topic);
        self.peer.join_from(topic, since.as_deref(), info)
    }

    /// Unsubscribes this client from `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        self.peer.unsubscribe(topic);
    }

    /// The topics this client is subscribed to.
    pub fn topics(&self) -> Vec<String> {
        self.peer.topics()
    }

    /// Closes the channel with `code` ([`CloseCode::NORMAL`], or 4000–4999 for your own: the
    /// client does not come back after 1008 or a 4xxx code) and `reason`, as [`Peer::close`].
    pub fn close(&self, code: CloseCode, reason: &str) {
        self.peer.close(code, reason);
    }
}

/// `message` as JSON; a type that cannot be JSON (a map with non-text keys, a failing `Serialize`)
/// is a bug, logged.
fn encode<T: Serialize>(message: &T) -> Option<String> {
    serde_json::to_string(message)
        .inspect_err(|e| {
            tracing::error!(error = %e, "nitrous: a channel message does not serialize; not sent");
        })
        .ok()
}
