//! The chat as a typed channel (`docs/protocol.md`), which the page speaks through
//! `nitrous-client`: `ws://host/ws/room`. The room is the retained topic `chat` (shared with the
//! seed's raw `ws/chat.rs`), so a page that reconnects, to this process or after a restart to
//! another through Redis, is given what it missed by itself: this file writes none of that.
//! `cargo nitrous types` turns these types into `src/server/routes.ts`.

use nitrous::channel::{Channel, ChannelPeer, Requests};
use nitrous::ts_rs::TS;
use serde::{Deserialize, Serialize};

/// The room's topic.
const ROOM: &str = "chat";

/// What a page says.
#[derive(Deserialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Say {
    /// The text, as typed.
    pub text: String,
}

/// A line of the room, as the seed's handler writes it too.
#[derive(Serialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Line {
    /// Who said it: a peer's id, or `server`.
    pub user: String,
    /// What was said.
    pub message: String,
}

/// What a page may ask.
#[derive(Deserialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ask {
    /// Answered with `"pong"`, to the asker alone.
    Ping,
    /// Who is connected to this process's room route.
    Who,
}

/// The answers.
#[derive(Serialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// To `ping`.
    Pong,
    /// To `who`.
    Here {
        /// The peers' ids.
        peers: Vec<String>,
    },
}

fn server(message: String) -> Line {
    Line {
        user: "server".to_owned(),
        message,
    }
}

/// The room's channel.
#[derive(Default)]
pub struct Room;

impl Channel for Room {
    type In = Say;
    type Out = Line;

    async fn open(&self, peer: &ChannelPeer<'_, Self>) {
        let me = peer.peer();
        peer.send(&server(format!("Welcome {me}!")));
        peer.publish(ROOM, &server(format!("{me} joined!")));
        peer.subscribe(ROOM); // resumes after the page's last offset when it reconnects
    }

    async fn message(&self, peer: &ChannelPeer<'_, Self>, say: Say) {
        let line = Line {
            user: peer.peer().to_string(),
            message: say.text,
        };
        // The whole room, the sender too: every page sees one order, each line with its offset.
        let _ = nitrous::channel::publish::<Self>(peer.hub(), ROOM, &line);
    }

    async fn close(&self, peer: &ChannelPeer<'_, Self>, _close: nitrous::ws::Close) {
        peer.publish(ROOM, &server(format!("{} left!", peer.peer())));
    }
}

impl Requests for Room {
    type Request = Ask;
    type Reply = Answer;
    type Error = String;

    async fn request(&self, peer: &ChannelPeer<'_, Self>, ask: Ask) -> Result<Answer, String> {
        Ok(match ask {
            Ask::Ping => Answer::Pong,
            Ask::Who => Answer::Here {
                peers: peer.peer().peers().iter().map(ToString::to_string).collect(),
            },
        })
    }
}
