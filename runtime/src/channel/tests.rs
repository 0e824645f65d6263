//! The frames' own text: what the server writes is JSON whatever a topic or message holds, and
//! what a client writes is read as the protocol names it.

use serde_json::{Value, json};

use super::frame::{self, Frame};
use crate::offset::Offset;

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn server_frames_are_json_whatever_their_text_holds() {
    let topic = "room \"one\"\n\\ \u{1F980}";
    let at: Offset = "1764627000123-4".parse().unwrap();
    assert_eq!(
        parsed(&frame::topic(topic, Some(at), r#"{"a":[1,2]}"#)),
        json!({ "type": "topic", "topic": topic, "offset": "1764627000123-4", "data": { "a": [1, 2] } })
    );
    assert_eq!(
        parsed(&frame::topic(topic, None, "null")),
        json!({ "type": "topic", "topic": topic, "data": null })
    );
    assert_eq!(
        parsed(&frame::gap(topic, None, Some(at))),
        json!({ "type": "gap", "topic": topic, "after": null, "resumed_at": "1764627000123-4" })
    );
    assert_eq!(
        parsed(&frame::notice(
            "bad-data",
            "missing field `text` \"x\"",
            Some(7)
        )),
        json!({ "type": "notice", "code": "bad-data", "message": "missing field `text` \"x\"", "id": 7 })
    );
    assert_eq!(
        parsed(&frame::reply(9_007_199_254_740_991, "ok", "\"yes\"")),
        json!({ "type": "reply", "id": 9_007_199_254_740_991u64, "ok": "yes" })
    );
    let message = frame::message(&json!({ "text": topic }).to_string());
    assert_eq!(
        message.len(),
        message.capacity(),
        "the frame is its payload, as is"
    );
    assert_eq!(
        parsed(&message),
        json!({ "type": "message", "data": { "text": topic } })
    );
    assert_eq!(
        parsed(&frame::welcome("peer-\"1\"")),
        json!({ "type": "welcome", "protocol": 1, "peer": "peer-\"1\"" })
    );
}

#[test]
fn client_frames_are_read_by_kind_and_checked() {
    let hello = r#"{"type":"hello","resume":{"room:1":"5-1"}}"#;
    assert!(
        matches!(Frame::parse(hello), Ok(Frame::Hello { resume }) if resume["room:1"] == "5-1")
    );
    let escaped = r#"{"type":"subscribe","id":1,"topic":"a\"b","since":"x"}"#;
    assert!(matches!(
        Frame::parse(escaped),
        Ok(Frame::Subscribe { id: 1, topic, since: Some(since) }) if topic == "a\"b" && since == "x"
    ));
    let bad = |text: &str| match Frame::parse(text) {
        Err(bad) => (bad.code, bad.id),
        Ok(_) => panic!("accepted {text}"),
    };
    assert_eq!(bad("[]"), ("bad-json", None));
    assert_eq!(bad(r#"{"data":1}"#), ("bad-json", None));
    assert_eq!(bad(r#"{"type":"request","data":1}"#), ("bad-json", None));
    assert_eq!(
        bad(r#"{"type":"request","id":9007199254740992,"data":1}"#),
        ("bad-json", Some(9_007_199_254_740_992))
    );
    assert_eq!(bad(r#"{"type":"subscribe","id":4}"#), ("bad-json", Some(4)));
    assert_eq!(bad(r#"{"type":"later","id":5}"#), ("unknown-type", Some(5)));
    // Unknown fields are left for later versions.
    assert!(matches!(
        Frame::parse(r#"{"type":"message","data":2,"trace":"t"}"#),
        Ok(Frame::Message { data }) if data.get() == "2"
    ));
}

/// `message` frames written as the client writes them take a shorter path; what it reads, and what
/// it refuses, is what the general path reads and refuses.
#[test]
fn message_frames_read_the_same_on_either_path() {
    let data = |text: &str| match Frame::parse(text) {
        Ok(Frame::Message { data }) => data.get().to_owned(),
        Ok(_) => panic!("not a message: {text}"),
        Err(bad) => panic!("{}: {text}", bad.message),
    };
    // The client's own spelling, and the same frames spelled otherwise (the general path).
    for (text, expected) in [
        (
            r#"{"type":"message","data":{"text":"hi"}}"#,
            r#"{"text":"hi"}"#,
        ),
        (
            r#"{ "type": "message", "data": {"text":"hi"} }"#,
            r#"{"text":"hi"}"#,
        ),
        (
            r#"{"data":{"text":"hi"},"type":"message"}"#,
            r#"{"text":"hi"}"#,
        ),
        (r#"{"type":"message","data":"a}"}"#, r#""a}""#),
        (r#"{"type":"message","data":"}"}"#, r#""}""#),
        (
            r#"{"type":"message","data": [1, {"b":null}] }"#,
            r#"[1, {"b":null}]"#,
        ),
        (r#"{"type":"message","data":2,"trace":"t"}"#, "2"),
    ] {
        assert_eq!(data(text), expected, "{text}");
    }
    let bad = |text: &str| match Frame::parse(text) {
        Err(bad) => bad.code,
        Ok(_) => panic!("accepted {text}"),
    };
    for text in [
        r#"{"type":"message","data":1}}"#,
        r#"{"type":"message","data":}"#,
        r#"{"type":"message","data":{"text":"hi"}"#,
        r#"{"type":"message","data":"open}"#,
        r#"{"type":"message","data":1,"type":"request"}"#,
        r#"{"type":"message","data":tru}"#,
    ] {
        assert_eq!(bad(text), "bad-json", "{text}");
    }
}
