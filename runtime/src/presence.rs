//! Presence: who is on a topic, here and on the other instances, and their joins and leaves as
//! they happen ([`Hub::track_presence`](crate::Hub::track_presence)).
//!
//! A tracked topic's subscribers are its members: a WebSocket peer or an event stream that
//! subscribes joins (with an info value the app gives it, [`Peer::join`](crate::ws::Peer::join),
//! [`EventStream::join`](crate::sse::EventStream::join); `null` for a plain subscribe), and leaves
//! when it unsubscribes or closes. Each join and leave is published on the topic itself, as a
//! message named [`PRESENCE_EVENT`] whose payload is a [`PresenceEvent`] in JSON, so it reaches the
//! topic's subscribers (the member that joined included) in the topic's order: an event stream
//! gets `event: nitrous-presence`, a WebSocket peer gets the JSON text (its handler's
//! [`topic`](crate::ws::WebSocketHandler::topic) hook sees it first, and
//! [`TopicMessage::presence`](crate::ws::TopicMessage::presence) reads it), a typed channel's
//! client gets a `presence` frame.
//!
//! Bounds: an info value is at most [`MAX_PRESENCE_INFO`] bytes of JSON (a bigger one is refused
//! with [`PresenceError::InfoTooLarge`], and the subscriber does not join); the member list is
//! read in pages of at most [`MAX_PRESENCE_PAGE`] ([`Hub::presence`](crate::Hub::presence)), and
//! the count is read without the list ([`Hub::presence_count`](crate::Hub::presence_count)). What
//! this instance holds is one entry per local member.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The event name of presence messages: what an event stream's `event:` says, and what
/// [`TopicMessage::event`](crate::ws::TopicMessage::event) answers. Apps should not publish
/// under it.
pub const PRESENCE_EVENT: &str = "nitrous-presence";

/// The largest info value a member may carry, in bytes of JSON: 1 KiB.
pub const MAX_PRESENCE_INFO: usize = 1024;

/// The most members one page holds ([`Page::limit`] is cut to it).
pub const MAX_PRESENCE_PAGE: usize = 1000;

/// One member of a topic: a subscriber on one of the instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Unique across instances: the instance's tag and the subscriber's id there.
    pub id: String,
    /// What the app gave it when it joined (`null` for a plain subscribe).
    pub info: serde_json::Value,
}

/// A member joined or left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It subscribed.
    Join,
    /// It unsubscribed, closed, or its instance stopped answering (its presence expired).
    Leave,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Join => "join",
            Change::Leave => "leave",
        }
    }
}

/// A join or a leave, as a tracked topic's subscribers get it:
/// `{"type":"nitrous-presence","event":"join","topic":"room:1","member":"…","info":…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresenceEvent {
    /// Whether the member joined or left.
    pub event: Change,
    /// The topic, as its subscribers name it (without a namespace).
    pub topic: String,
    /// The member's id ([`Member::id`]).
    pub member: String,
    /// The member's info (`null` for a plain subscribe).
    pub info: serde_json::Value,
}

impl PresenceEvent {
    /// Reads a presence message's payload; `None` for anything else.
    pub fn parse(text: &str) -> Option<PresenceEvent> {
        #[derive(Deserialize)]
        struct Tagged {
            #[serde(rename = "type")]
            kind: String,
            #[serde(flatten)]
            event: PresenceEvent,
        }
        let tagged: Tagged = serde_json::from_str(text).ok()?;
        (tagged.kind == PRESENCE_EVENT).then_some(tagged.event)
    }

    /// The member it is about.
    pub fn member(&self) -> Member {
        Member {
            id: self.member.clone(),
            info: self.info.clone(),
        }
    }
}

/// The JSON of a presence message on hub topic `topic` (its namespace left out); `info` is JSON
/// already (checked when the member joined).
pub(crate) fn event_json(change: Change, topic: &str, member: &str, info: &str) -> String {
    let topic = serde_json::Value::from(crate::topic_name::visible(topic));
    let member = serde_json::Value::from(member);
    format!(
        r#"{{"type":"{PRESENCE_EVENT}","event":"{}","topic":{topic},"member":{member},"info":{info}}}"#,
        change.as_str()
    )
}

/// Checks and encodes a member's info: JSON of at most [`MAX_PRESENCE_INFO`] bytes.
pub(crate) fn encode_info(info: &impl Serialize) -> Result<String, PresenceError> {
    let json = serde_json::to_string(info).map_err(PresenceError::Encode)?;
    if json.len() > MAX_PRESENCE_INFO {
        return Err(PresenceError::InfoTooLarge {
            bytes: json.len(),
            limit: MAX_PRESENCE_INFO,
        });
    }
    Ok(json)
}

/// Why a subscriber did not join.
#[derive(Debug)]
#[non_exhaustive]
pub enum PresenceError {
    /// The info value is larger than [`MAX_PRESENCE_INFO`] bytes of JSON.
    InfoTooLarge {
        /// Its size, as JSON.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The info value could not be serialized.
    Encode(serde_json::Error),
    /// The topic is not tracked: [`Hub::track_presence`](crate::Hub::track_presence) names no
    /// pattern it matches.
    NotTracked(String),
}

impl fmt::Display for PresenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresenceError::InfoTooLarge { bytes, limit } => write!(
                f,
                "a presence info value is {bytes} bytes of JSON, over the limit of {limit}: keep it to what a member list shows (a name, an avatar URL)"
            ),
            PresenceError::Encode(e) => write!(f, "the presence info value did not serialize: {e}"),
            PresenceError::NotTracked(topic) => write!(
                f,
                "topic {topic:?} is not tracked: call hub.track_presence with a pattern that matches it at start-up"
            ),
        }
    }
}

impl std::error::Error for PresenceError {}

/// Which page of a topic's members to read ([`Hub::presence`](crate::Hub::presence)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    cursor: Option<String>,
    limit: usize,
}

impl Page {
    /// The first page, of about `limit` members (at most [`MAX_PRESENCE_PAGE`]).
    pub fn first(limit: usize) -> Page {
        Page {
            cursor: None,
            limit: limit.clamp(1, MAX_PRESENCE_PAGE),
        }
    }

    /// The page after the one whose [`Members::next`] was `cursor`.
    pub fn after(cursor: impl Into<String>, limit: usize) -> Page {
        Page {
            cursor: Some(cursor.into()),
            ..Page::first(limit)
        }
    }

    /// Where it starts (`None`: at the first member).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// About how many members it holds.
    pub fn limit(&self) -> usize {
        self.limit.clamp(1, MAX_PRESENCE_PAGE)
    }
}

/// A page of a topic's members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Members {
    /// The members on this page.
    pub members: Vec<Member>,
    /// The cursor of the next page ([`Page::after`]); `None` on the last. A cursor is opaque,
    /// and good only for answers of the same kind ([`Members::everywhere`]): when that changes
    /// (Redis went down or came back), read again from the first page.
    pub next: Option<String>,
    /// Whether the answer covers every instance (from the broker); `false` when it covers this
    /// instance only (no broker, or the broker did not answer in time).
    pub everywhere: bool,
}

/// How many members a topic has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headcount {
    /// The count.
    pub count: usize,
    /// Whether it covers every instance ([`Members::everywhere`]).
    pub everywhere: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_as_it_was_written() {
        let json = event_json(Change::Join, "room:\"1\"", "ab-7", r#"{"name":"Ada"}"#);
        let event = PresenceEvent::parse(&json).expect("a presence event");
        assert_eq!(event.event, Change::Join);
        assert_eq!(event.topic, "room:\"1\"");
        assert_eq!(event.member().id, "ab-7");
        assert_eq!(event.info["name"], "Ada");
        assert_eq!(
            PresenceEvent::parse(r#"{"type":"other","event":"join"}"#),
            None
        );
        assert_eq!(PresenceEvent::parse("not json"), None);
    }

    #[test]
    fn info_over_the_limit_is_refused_with_its_size() {
        assert_eq!(
            encode_info(&serde_json::json!({"n": 1})).unwrap(),
            r#"{"n":1}"#
        );
        let big = "x".repeat(MAX_PRESENCE_INFO);
        match encode_info(&big) {
            Err(PresenceError::InfoTooLarge { bytes, limit }) => {
                assert_eq!((bytes, limit), (MAX_PRESENCE_INFO + 2, MAX_PRESENCE_INFO));
            }
            other => panic!("expected InfoTooLarge, got {other:?}"),
        }
    }

    #[test]
    fn pages_are_bounded() {
        assert_eq!(Page::first(0).limit(), 1);
        assert_eq!(Page::first(1_000_000).limit(), MAX_PRESENCE_PAGE);
        assert_eq!(Page::after("x", 5).cursor(), Some("x"));
    }
}
