//! A typed room, the channel protocol's fixture: every client of `/ws/typed/{room}` is
//! subscribed to the topic `room:{room}` in `open` (resumed by itself when it reconnects), what one
//! says reaches the whole room with its offset, requests are answered, and a client may subscribe
//! itself to `public:*` topics only.

use nitrous::channel::{Channel, ChannelPeer, Requests};
use nitrous::ts_rs::TS;
use nitrous::ws::Options;
use serde::{Deserialize, Serialize};

/// What a client says.
#[derive(Deserialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Say {
    pub text: String,
}

/// What the room hears.
#[derive(Serialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Said {
    pub from: String,
    pub text: String,
}

/// What a client may ask.
#[derive(Deserialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ask {
    /// Answered with the text.
    Echo { text: String },
    /// Answered with an error.
    Refuse { reason: String },
}

/// Why a request failed.
#[derive(Serialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Refused {
    pub reason: String,
}

#[derive(Default)]
pub struct TypedRoom;

impl Channel for TypedRoom {
    type In = Say;
    type Out = Said;

    fn options(&self) -> Options {
        Options::default().max_message_size(64 * 1024)
    }

    async fn open(&self, peer: &ChannelPeer<'_, Self>) {
        peer.subscribe(&format!("room:{}", peer.param("room")));
    }

    async fn message(&self, peer: &ChannelPeer<'_, Self>, say: Say) {
        let topic = format!("room:{}", peer.param("room"));
        let said = Said {
            from: peer.id().to_string(),
            text: say.text,
        };
        // The whole room, the speaker too: everyone sees one order, with offsets.
        let _ = nitrous::channel::publish::<Self>(peer.hub(), &topic, &said);
    }

    async fn may_subscribe(&self, _: &ChannelPeer<'_, Self>, topic: &str) -> bool {
        topic.starts_with("public:")
    }
}

impl Requests for TypedRoom {
    type Request = Ask;
    type Reply = String;
    type Error = Refused;

    async fn request(&self, _: &ChannelPeer<'_, Self>, ask: Ask) -> Result<String, Refused> {
        match ask {
            Ask::Echo { text } => Ok(text),
            Ask::Refuse { reason } => Err(Refused { reason }),
        }
    }
}
