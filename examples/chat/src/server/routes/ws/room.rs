//! The chat as a typed channel (`docs/protocol.md`), which the page speaks through
//! `nitrous-client`: `ws://host/ws/room`. The room is the retained topic `chat` (shared with the
//! seed's raw `ws/chat.rs`), so a page that reconnects, to this process or after a restart to
//! another through Redis, is given what it missed by itself: this file writes none of that.
//! Who is in the room, on every instance, is the presence of topic `here` (tracked in main.rs):
//! each page joins it with the name in its `?name=`, and is sent the joins and leaves.
//! `cargo nitrous types` turns these types into `src/server/routes.ts`.

use nitrous::channel::{Channel, ChannelPeer, Requests};
use nitrous::presence::Page;
use nitrous::ts_rs::TS;
use nitrous::ws::{Refusal, Upgrade, UpgradeRequest};
use serde::{Deserialize, Serialize};

/// The room's topic.
const ROOM: &str = "chat";

/// The topic whose members are the pages in the room (its presence is tracked; nothing is
/// published on it but joins and leaves).
pub const HERE: &str = "here";

/// A page's name in the room, from `?name=` (the peer's id without one).
struct Name(Option<String>);

#[derive(Deserialize)]
struct Query {
    name: Option<String>,
}

/// What the room shows of a page: its name.
#[derive(Serialize, Deserialize, TS)]
#[ts(crate = "nitrous::ts_rs")]
pub struct Present {
    /// Its presence id, unique across instances.
    pub member: String,
    /// The name it chose, or its peer id.
    pub user: String,
}

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
    /// Who is in the room, on every instance.
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
        /// The pages in the room (up to 100).
        members: Vec<Present>,
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

    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let Query { name } = request.query()?;
        Ok(Upgrade::accept().context(Name(name)))
    }

    async fn open(&self, peer: &ChannelPeer<'_, Self>) {
        let me = peer.peer();
        peer.send(&server(format!("Welcome {me}!")));
        peer.publish(ROOM, &server(format!("{me} joined!")));
        peer.subscribe(ROOM); // resumes after the page's last offset when it reconnects
        let name = peer.context::<Name>().and_then(|n| n.0.clone());
        let user = name.unwrap_or_else(|| me.to_string());
        // Every page in the room, this one too, gets a `presence` frame.
        if let Err(e) = peer.join(HERE, &serde_json::json!({ "user": user })) {
            peer.send(&server(format!("not shown as here: {e}")));
        }
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
                members: peer
                    .hub()
                    .presence(HERE, Page::first(100))
                    .await
                    .members
                    .into_iter()
                    .map(|m| Present {
                        user: m.info["user"].as_str().unwrap_or_default().to_owned(),
                        member: m.id,
                    })
                    .collect(),
            },
        })
    }
}
