//! [`ChannelHandler`]: a [`Channel`] served as a WebSocket route, speaking the protocol.

use axum::http::{StatusCode, header};

use super::frame::{self, Bad, Frame};
use super::session::{Id, Session};
use super::{Channel, ChannelPeer, PROTOCOL, RequestHook};
use crate::payload::Payload;
use crate::ws::{
    Close, Error, Message, Options, Peer, Refusal, TopicGap, TopicMessage, Upgrade, UpgradeRequest,
    WebSocketHandler,
};

/// A channel route's WebSocket handler, built by the generated router around the route file's
/// [`Channel`].
pub struct ChannelHandler<C: Channel> {
    channel: C,
    requests: Option<RequestHook<C>>,
}

impl<C: Channel> std::fmt::Debug for ChannelHandler<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandler")
            .field("channel", &std::any::type_name::<C>())
            .field("requests", &self.requests.is_some())
            .finish()
    }
}

impl<C: Channel> ChannelHandler<C> {
    /// `channel`, answering requests with `requests` when it implements
    /// [`Requests`](super::Requests).
    pub fn new(channel: C, requests: Option<RequestHook<C>>) -> Self {
        ChannelHandler { channel, requests }
    }

    async fn frame(&self, peer: &ChannelPeer<'_, C>, frame: Frame<'_>) {
        let raw = peer.peer();
        match frame {
            Frame::Hello { .. } => notice(raw, "bad-json", "hello comes once, first", None),
            Frame::Message { data } => match serde_json::from_str(data.get()) {
                Ok(message) => self.channel.message(peer, message).await,
                Err(e) => notice(raw, "bad-data", &e.to_string(), None),
            },
            Frame::Request { id, data } => {
                let Some(hook) = self.requests else {
                    let message = "this route answers no requests (its channel does not implement `Requests`)";
                    return notice(raw, "no-requests", message, Some(id));
                };
                if fresh(peer, id) {
                    match hook(&self.channel, peer, data).await {
                        Ok((field, json)) => {
                            raw.send(Payload::text(frame::reply(id, field, &json)))
                        }
                        Err(e) => notice(raw, "bad-data", &e, Some(id)),
                    }
                }
            }
            Frame::Subscribe { id, topic, since } => {
                if !fresh(peer, id) {
                    return;
                }
                if self.channel.may_subscribe(peer, &topic).await {
                    raw.subscribe_from(&topic, since.as_deref());
                    raw.send(Payload::text(frame::reply(id, "ok", "null")));
                } else {
                    let message =
                        format!("this route does not let its clients subscribe to {topic:?}");
                    notice(raw, "not-allowed", &message, Some(id));
                }
            }
            Frame::Unsubscribe { id, topic } => {
                if fresh(peer, id) {
                    raw.unsubscribe(&topic);
                    raw.send(Payload::text(frame::reply(id, "ok", "null")));
                }
            }
        }
    }
}

/// Whether a frame's id is above the last one's; a notice when it is not.
fn fresh<C: Channel>(peer: &ChannelPeer<'_, C>, id: u64) -> bool {
    match session(peer.peer()).take_id(id) {
        Id::Fresh => true,
        Id::Stale(last) => {
            let message = format!(
                "id {id} is not above the previous one ({last}): ids increase within a connection"
            );
            notice(peer.peer(), "bad-id", &message, Some(id));
            false
        }
    }
}

fn notice(peer: &Peer, code: &str, message: &str, id: Option<u64>) {
    peer.send(Payload::text(frame::notice(code, message, id)));
}

fn session(peer: &Peer) -> &Session {
    peer.context::<Session>()
        .expect("a channel's upgrade puts its session in the peer's context")
}

/// Whether the upgrade offers the channel's subprotocol.
fn offers_protocol(request: &UpgradeRequest) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL)
}

impl<C: Channel> WebSocketHandler for ChannelHandler<C> {
    fn options(&self) -> Options {
        self.channel.options()
    }

    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        if !offers_protocol(request) {
            let message = format!(
                "this route is a nitrous channel: connect with the nitrous client, or offer the WebSocket subprotocol {PROTOCOL} (docs/protocol.md)"
            );
            return Err((StatusCode::BAD_REQUEST, message).into());
        }
        let mut upgrade = self.channel.upgrade(request).await?;
        let app = upgrade.context.take();
        upgrade.context = Some(Box::new(Session::new(app)));
        Ok(upgrade.protocol(PROTOCOL))
    }

    async fn message(&self, peer: &Peer, message: Message) {
        let session = session(peer);
        let channel_peer = ChannelPeer::new(peer, session);
        if message.is_binary() {
            self.open(&channel_peer, Default::default()).await;
            let text = "binary frames are reserved for a later version of the protocol; send text frames holding JSON";
            return notice(peer, "unsupported", text, None);
        }
        let text = message.text();
        let frame = Frame::parse(&text);
        // Checked here, without a call, since it is so on every frame but the first.
        if !session.is_open() {
            if let Ok(Frame::Hello { resume }) = frame {
                return self.open(&channel_peer, resume).await;
            }
            self.open(&channel_peer, Default::default()).await;
        }
        match frame {
            Ok(frame) => self.frame(&channel_peer, frame).await,
            Err(Bad { code, message, id }) => notice(peer, code, &message, id),
        }
    }

    async fn close(&self, peer: &Peer, close: Close) {
        let session = session(peer);
        if session.is_open() {
            self.channel
                .close(&ChannelPeer::new(peer, session), close)
                .await;
        }
    }

    async fn error(&self, peer: &Peer, error: Error) {
        let session = session(peer);
        if session.is_open() {
            self.channel
                .error(&ChannelPeer::new(peer, session), error)
                .await;
        }
    }

    #[inline]
    fn topic(&self, _: &Peer, message: TopicMessage<'_>) -> Option<Payload> {
        // The same frame for every channel peer: made once per message, shared.
        Some(message.framed_once::<super::Frames>(|| {
            if let Some(presence) = message.presence() {
                return Payload::text(frame::presence(&presence));
            }
            Payload::text(frame::topic(
                message.topic(),
                message.offset(),
                &message.text(),
            ))
        }))
    }

    fn topic_gap(&self, _: &Peer, gap: TopicGap<'_>) -> Option<Payload> {
        Some(Payload::text(frame::gap(
            gap.topic(),
            gap.after(),
            gap.resumed_at(),
        )))
    }
}

impl<C: Channel> ChannelHandler<C> {
    /// Welcomes the client and runs `open`, once: on its hello, or on whatever it sends first.
    async fn open(
        &self,
        peer: &ChannelPeer<'_, C>,
        resume: std::collections::HashMap<String, String>,
    ) {
        let session = session(peer.peer());
        if !session.open(resume) {
            return;
        }
        peer.peer()
            .send(Payload::text(frame::welcome(&peer.id().to_string())));
        self.channel.open(peer).await;
        session.opened();
    }
}
