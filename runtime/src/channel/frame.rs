//! The channel protocol's frames (`docs/protocol.md`): reading the client's, writing the server's.
//! The server's are written as text around JSON that is already encoded, so a topic message is
//! never decoded and encoded again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::offset::Offset;

/// A client frame, its fields read as the protocol names them; what a kind needs is checked by
/// [`Frame::kind`].
#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(borrow, default)]
    topic: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    since: Option<Cow<'a, str>>,
    #[serde(default)]
    resume: Option<HashMap<String, String>>,
}

/// A client frame.
pub(super) enum Frame<'a> {
    Hello {
        resume: HashMap<String, String>,
    },
    Message {
        data: &'a RawValue,
    },
    Request {
        id: u64,
        data: &'a RawValue,
    },
    Subscribe {
        id: u64,
        topic: Cow<'a, str>,
        since: Option<Cow<'a, str>>,
    },
    Unsubscribe {
        id: u64,
        topic: Cow<'a, str>,
    },
}

/// Why a client frame cannot be read: a notice's code and message.
pub(super) struct Bad {
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) id: Option<u64>,
}

/// The largest id a client may use: what a JavaScript number holds exactly.
const MAX_ID: u64 = (1 << 53) - 1;

/// How a `message` frame begins when a client writes it as the nitrous client does.
const MESSAGE_HEAD: &str = r#"{"type":"message","data":"#;

impl<'a> Frame<'a> {
    pub(super) fn parse(text: &'a str) -> Result<Frame<'a>, Bad> {
        // Most frames are messages, written as the client writes them: their data is then read
        // as one JSON value, without serde's work for the other kinds' fields. Anything else
        // (other kinds, other spacing or order, more fields) is read by the general path below,
        // which reads these the same way.
        if let Some(data) = text
            .strip_prefix(MESSAGE_HEAD)
            .and_then(|rest| rest.strip_suffix('}'))
            && let Ok(data) = serde_json::from_str::<&RawValue>(data)
        {
            return Ok(Frame::Message { data });
        }
        let raw: Raw<'a> = serde_json::from_str(text).map_err(|e| Bad {
            code: "bad-json",
            message: format!("not a channel frame (a JSON object with a \"type\"): {e}"),
            id: None,
        })?;
        let id = raw.id;
        let bad_json = |message: String| Bad {
            code: "bad-json",
            message,
            id,
        };
        let need_id = || match raw.id {
            Some(id) if id <= MAX_ID => Ok(id),
            Some(id) => Err(bad_json(format!("id {id} is over 2^53 - 1"))),
            None => Err(bad_json(format!("a {} frame needs an \"id\"", raw.kind))),
        };
        let need_data = || {
            raw.data
                .ok_or_else(|| bad_json(format!("a {} frame needs \"data\"", raw.kind)))
        };
        let need_topic = |topic: Option<Cow<'a, str>>| {
            topic.ok_or_else(|| bad_json(format!("a {} frame needs a \"topic\"", raw.kind)))
        };
        Ok(match &*raw.kind {
            "hello" => Frame::Hello {
                resume: raw.resume.unwrap_or_default(),
            },
            "message" => Frame::Message { data: need_data()? },
            "request" => Frame::Request {
                id: need_id()?,
                data: need_data()?,
            },
            "subscribe" => Frame::Subscribe {
                id: need_id()?,
                topic: need_topic(raw.topic.clone())?,
                since: raw.since.clone(),
            },
            "unsubscribe" => Frame::Unsubscribe {
                id: need_id()?,
                topic: need_topic(raw.topic.clone())?,
            },
            other => {
                return Err(Bad {
                    code: "unknown-type",
                    message: format!(
                        "unknown frame type {other:?}: this server speaks nitrous.v1 (hello, message, request, subscribe, unsubscribe)"
                    ),
                    id,
                });
            }
        })
    }
}

/// `value` as a JSON string.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).expect("a string is always JSON")
}

fn offset(offset: Option<Offset>) -> String {
    offset.map_or_else(|| "null".to_owned(), |o| format!("\"{o}\""))
}

pub(super) fn welcome(peer: &str) -> String {
    format!(
        r#"{{"type":"welcome","protocol":1,"peer":{}}}"#,
        quoted(peer)
    )
}

pub(super) fn message(data: &str) -> String {
    // Exactly as long as the frame: no reallocation, and no copy when it becomes the payload.
    let mut frame = String::with_capacity(MESSAGE_HEAD.len() + data.len() + 1);
    frame.push_str(MESSAGE_HEAD);
    frame.push_str(data);
    frame.push('}');
    frame
}

/// A join or leave on a tracked topic:
/// `{"type":"presence","topic":..,"event":"join"|"leave","member":..,"info":..}`.
pub(super) fn presence(event: &crate::presence::PresenceEvent) -> String {
    serde_json::json!({
        "type": "presence",
        "topic": event.topic,
        "event": event.event,
        "member": event.member,
        "info": event.info,
    })
    .to_string()
}

pub(super) fn topic(topic: &str, at: Option<Offset>, data: &str) -> String {
    let mut frame = String::with_capacity(data.len() + topic.len() + 64);
    frame.push_str(r#"{"type":"topic","topic":"#);
    frame.push_str(&quoted(topic));
    if let Some(at) = at {
        let _ = write!(frame, r#","offset":"{at}""#);
    }
    frame.push_str(r#","data":"#);
    frame.push_str(data);
    frame.push('}');
    frame
}

pub(super) fn gap(topic: &str, after: Option<Offset>, resumed_at: Option<Offset>) -> String {
    format!(
        r#"{{"type":"gap","topic":{},"after":{},"resumed_at":{}}}"#,
        quoted(topic),
        offset(after),
        offset(resumed_at)
    )
}

pub(super) fn reply(id: u64, field: &str, json: &str) -> String {
    format!(r#"{{"type":"reply","id":{id},"{field}":{json}}}"#)
}

pub(super) fn notice(code: &str, message: &str, id: Option<u64>) -> String {
    let id = id.map_or_else(String::new, |id| format!(r#","id":{id}"#));
    format!(
        r#"{{"type":"notice","code":"{code}","message":{}{id}}}"#,
        quoted(message)
    )
}
