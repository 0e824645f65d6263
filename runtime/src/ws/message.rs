//! [`Message`]: what a peer sent, a text or a binary frame's whole payload.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize};
use tungstenite::Utf8Bytes;

use crate::payload::{IntoPayload, Payload, PayloadError};

/// A message received from a peer. Sending or publishing it on sends it as it came, text as
/// text and binary as binary, sharing its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    payload: Payload,
}

impl Message {
    pub(crate) fn from_text(text: Utf8Bytes) -> Message {
        Message {
            payload: Payload::from_utf8(text),
        }
    }

    pub(crate) fn from_binary(data: Bytes) -> Message {
        Message {
            payload: Payload::binary(data),
        }
    }

    /// The payload as text. A text frame is valid UTF-8 already (no check, no copy); a binary
    /// payload is decoded lossily (as crossws does).
    pub fn text(&self) -> Cow<'_, str> {
        self.payload.to_text_lossy()
    }

    /// The payload parsed as JSON. Bad JSON is an `Err` ([`serde_json::Error`], which says
    /// where and why), never a panic.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.bytes())
    }

    /// The raw payload.
    pub fn bytes(&self) -> &[u8] {
        self.payload.as_bytes()
    }

    /// The raw payload, without a copy.
    pub fn into_bytes(self) -> Bytes {
        self.payload.into_bytes()
    }

    /// The payload as it came, to send on or to keep (cloning it shares the bytes).
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Whether it came as a binary frame.
    pub fn is_binary(&self) -> bool {
        self.payload.is_binary()
    }

    /// Whether it came as a text frame.
    pub fn is_text(&self) -> bool {
        self.payload.is_text()
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload has no bytes.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

impl fmt::Display for Message {
    /// The payload as text (see [`Message::text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_binary() { "binary" } else { "text" };
        f.debug_struct("Message")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

/// Sent on as it came: its own kind, its bytes shared.
impl IntoPayload for Message {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(self.payload)
    }
}

impl IntoPayload for &Message {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(self.payload.clone())
    }
}

impl From<Message> for Payload {
    fn from(message: Message) -> Payload {
        message.payload
    }
}

/// Inside a structure serialised as JSON, a message is its text (a binary one, its bytes).
impl Serialize for Message {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.payload.as_text() {
            Some(text) => serializer.serialize_str(text),
            None => serializer.serialize_bytes(self.bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_messages_are_sent_on_as_their_kind_sharing_their_bytes() {
        let received = Message::from_text(Utf8Bytes::from("shared".to_owned()));
        let sent = (&received).into_payload().unwrap();
        assert!(sent.is_text());
        assert!(std::ptr::eq(sent.as_bytes(), received.bytes()), "copied");

        let data = Bytes::from(vec![7u8; 32]);
        let received = Message::from_binary(data.clone());
        let sent = received.into_payload().unwrap();
        assert!(sent.is_binary());
        assert!(std::ptr::eq(sent.as_bytes(), &data[..]), "copied");

        let empty = Message::from_binary(Bytes::new()).into_payload().unwrap();
        assert!(
            empty.is_binary() && empty.is_empty(),
            "an empty binary stays binary"
        );
    }

    #[test]
    fn inside_json_a_message_is_its_text() {
        #[derive(serde::Serialize)]
        struct Wrapped {
            m: Message,
        }
        let wrapped = Wrapped {
            m: Message::from_text(Utf8Bytes::from("inner")),
        };
        assert_eq!(serde_json::to_string(&wrapped).unwrap(), r#"{"m":"inner"}"#);
    }

    #[test]
    fn message_accessors() {
        let m = Message::from_text(Utf8Bytes::from(r#"{"n":1}"#));
        assert!(m.is_text() && !m.is_binary());
        assert_eq!(m.json::<serde_json::Value>().unwrap()["n"], 1);
        assert!(
            Message::from_text(Utf8Bytes::from("{oops"))
                .json::<serde_json::Value>()
                .is_err()
        );
        assert_eq!(m.to_string(), r#"{"n":1}"#);
        let b = Message::from_binary(Bytes::from_static(b"\xffok"));
        assert_eq!(b.text(), "\u{fffd}ok");
        assert_eq!(b.len(), 3);
    }
}
