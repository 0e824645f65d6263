//! What peers send and receive: [`Message`] in, and payloads out (text, bytes or any `Serialize`).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use tungstenite::Utf8Bytes;

use super::WireMessage;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize};

/// A message received from a peer: a text or a binary frame's whole payload.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    payload: Payload,
}

/// A text payload keeps tungstenite's proof that it is UTF-8, so reading it as text is free.
#[derive(Clone, PartialEq, Eq)]
enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Message {
    pub(crate) fn from_text(text: Utf8Bytes) -> Message {
        Message {
            payload: Payload::Text(text),
        }
    }

    pub(crate) fn from_binary(data: Bytes) -> Message {
        Message {
            payload: Payload::Binary(data),
        }
    }

    /// The payload as text. A text frame is valid UTF-8 already (no check, no copy); a binary
    /// payload is decoded lossily (as crossws does).
    pub fn text(&self) -> Cow<'_, str> {
        match &self.payload {
            Payload::Text(text) => Cow::Borrowed(text.as_str()),
            Payload::Binary(data) => String::from_utf8_lossy(data),
        }
    }

    /// The payload parsed as JSON. Bad JSON is an `Err`, never a panic.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.bytes())
    }

    /// The raw payload.
    pub fn bytes(&self) -> &[u8] {
        match &self.payload {
            Payload::Text(text) => text.as_bytes(),
            Payload::Binary(data) => data,
        }
    }

    /// The raw payload, without a copy.
    pub fn into_bytes(self) -> Bytes {
        match self.payload {
            Payload::Text(text) => Bytes::from(text),
            Payload::Binary(data) => data,
        }
    }

    /// Whether it came as a binary frame.
    pub fn is_binary(&self) -> bool {
        matches!(self.payload, Payload::Binary(_))
    }

    /// Whether it came as a text frame.
    pub fn is_text(&self) -> bool {
        !self.is_binary()
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
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

/// Sending a received message on (an echo) keeps its kind, and shares its bytes rather than
/// copying them.
impl Serialize for Message {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let frame = match &self.payload {
            Payload::Text(text) => WireMessage::Text(text.clone()),
            Payload::Binary(data) => WireMessage::Binary(data.clone()),
        };
        FORWARDED.set(Some(frame));
        let result = match &self.payload {
            Payload::Text(text) => serializer.serialize_str(text.as_str()),
            Payload::Binary(data) => serializer.serialize_bytes(data),
        };
        FORWARDED.take(); // any other serializer leaves it
        result
    }
}

thread_local! {
    /// The frame of a [`Message`] being serialized, for [`Probe`] to send as it is: serde passes
    /// only a `&str` or `&[u8]`, and copying it would cost an echo or a relay an allocation.
    /// Set only while `Message::serialize` runs.
    static FORWARDED: Cell<Option<WireMessage>> = const { Cell::new(None) };
}

/// The forwarded frame, if `payload` is its very bytes (not a copy, not another string).
fn forwarded(payload: &[u8]) -> Option<WireMessage> {
    let frame = FORWARDED.take()?;
    let bytes: &[u8] = match &frame {
        WireMessage::Text(text) => text.as_bytes(),
        WireMessage::Binary(data) => data,
        _ => return None,
    };
    std::ptr::eq(bytes, payload).then_some(frame)
}

/// Why a payload could not be turned into a frame.
#[derive(Debug)]
pub struct EncodeError(serde_json::Error);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the payload cannot be serialized as JSON: {}", self.0)
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Turns a payload into the frame every recipient shares (cloning it only bumps a refcount).
///
/// A string (`&str`, `String`, a received text [`Message`]) is sent as that text; bytes
/// (`Vec<u8>`, `&[u8]`, `Bytes`, a received binary `Message`) as a binary frame; anything else
/// `Serialize` as its JSON text. An empty byte sequence cannot be told from an empty list and is
/// sent as the JSON text `[]`: send `Bytes::new()` for an empty binary frame.
pub(crate) fn encode<T: Serialize + ?Sized>(payload: &T) -> Result<WireMessage, EncodeError> {
    match payload.serialize(Probe) {
        Ok(Plain::Text(text)) => Ok(WireMessage::Text(Utf8Bytes::from(text))),
        Ok(Plain::Binary(bytes)) => Ok(WireMessage::Binary(Bytes::from(bytes))),
        Ok(Plain::Frame(frame)) => Ok(frame),
        Err(NotPlain) => serde_json::to_string(payload)
            .map(|json| WireMessage::Text(Utf8Bytes::from(json)))
            .map_err(EncodeError),
    }
}

/// A payload that goes out as it is rather than as JSON.
enum Plain {
    Text(String),
    Binary(Vec<u8>),
    /// A received message's own frame.
    Frame(WireMessage),
}

/// Stops the probe at the first sign that the payload is structured data.
#[derive(Debug)]
struct NotPlain;

impl fmt::Display for NotPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string or bytes")
    }
}

impl std::error::Error for NotPlain {}

impl ser::Error for NotPlain {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotPlain
    }
}

/// A serializer that answers only for strings and byte sequences; everything else stops it at
/// once, so probing a struct costs one call before the JSON encoder runs.
struct Probe;

macro_rules! not_plain {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {$(
        fn $method(self, $(_: $ty),*) -> Result<Self::Ok, NotPlain> {
            Err(NotPlain)
        }
    )*};
}

impl ser::Serializer for Probe {
    type Ok = Plain;
    type Error = NotPlain;
    type SerializeSeq = Bytes8;
    type SerializeTuple = Bytes8;
    type SerializeTupleStruct = ser::Impossible<Plain, NotPlain>;
    type SerializeTupleVariant = ser::Impossible<Plain, NotPlain>;
    type SerializeMap = ser::Impossible<Plain, NotPlain>;
    type SerializeStruct = ser::Impossible<Plain, NotPlain>;
    type SerializeStructVariant = ser::Impossible<Plain, NotPlain>;

    fn serialize_str(self, v: &str) -> Result<Plain, NotPlain> {
        match forwarded(v.as_bytes()) {
            Some(frame) => Ok(Plain::Frame(frame)),
            None => Ok(Plain::Text(v.to_owned())),
        }
    }

    fn serialize_char(self, v: char) -> Result<Plain, NotPlain> {
        Ok(Plain::Text(v.to_string()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Plain, NotPlain> {
        match forwarded(v) {
            Some(frame) => Ok(Plain::Frame(frame)),
            None => Ok(Plain::Binary(v.to_vec())),
        }
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Plain, NotPlain> {
        value.serialize(Probe)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Bytes8, NotPlain> {
        match len {
            Some(0) | None => Err(NotPlain),
            Some(len) => Ok(Bytes8(Vec::with_capacity(len))),
        }
    }

    fn serialize_tuple(self, len: usize) -> Result<Bytes8, NotPlain> {
        self.serialize_seq(Some(len))
    }

    not_plain! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_none(),
        serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Plain, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Plain, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotPlain> {
        Err(NotPlain)
    }
}

/// Collects a sequence whose every element is a `u8` (`Vec<u8>`, `&[u8]`, `[u8; N]`).
struct Bytes8(Vec<u8>);

impl Bytes8 {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotPlain> {
        self.0.push(value.serialize(OneByte)?);
        Ok(())
    }
}

impl ser::SerializeSeq for Bytes8 {
    type Ok = Plain;
    type Error = NotPlain;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotPlain> {
        self.push(value)
    }

    fn end(self) -> Result<Plain, NotPlain> {
        Ok(Plain::Binary(self.0))
    }
}

impl ser::SerializeTuple for Bytes8 {
    type Ok = Plain;
    type Error = NotPlain;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotPlain> {
        self.push(value)
    }

    fn end(self) -> Result<Plain, NotPlain> {
        Ok(Plain::Binary(self.0))
    }
}

/// Accepts exactly one `u8`.
struct OneByte;

macro_rules! not_a_byte {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {$(
        fn $method(self, $(_: $ty),*) -> Result<u8, NotPlain> {
            Err(NotPlain)
        }
    )*};
}

impl ser::Serializer for OneByte {
    type Ok = u8;
    type Error = NotPlain;
    type SerializeSeq = ser::Impossible<u8, NotPlain>;
    type SerializeTuple = ser::Impossible<u8, NotPlain>;
    type SerializeTupleStruct = ser::Impossible<u8, NotPlain>;
    type SerializeTupleVariant = ser::Impossible<u8, NotPlain>;
    type SerializeMap = ser::Impossible<u8, NotPlain>;
    type SerializeStruct = ser::Impossible<u8, NotPlain>;
    type SerializeStructVariant = ser::Impossible<u8, NotPlain>;

    fn serialize_u8(self, v: u8) -> Result<u8, NotPlain> {
        Ok(v)
    }

    not_a_byte! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
        serialize_f32(f32), serialize_f64(f64), serialize_char(char), serialize_str(&str),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotPlain> {
        Err(NotPlain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: WireMessage) -> String {
        match m {
            WireMessage::Text(t) => t.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn binary(m: WireMessage) -> Vec<u8> {
        match m {
            WireMessage::Binary(b) => b.to_vec(),
            other => panic!("expected binary, got {other:?}"),
        }
    }

    #[test]
    fn strings_go_out_as_text_not_as_json_strings() {
        assert_eq!(text(encode("hi \"you\"").unwrap()), "hi \"you\"");
        assert_eq!(text(encode(&String::from("x")).unwrap()), "x");
        assert_eq!(text(encode(&'c').unwrap()), "c");
    }

    #[test]
    fn bytes_go_out_as_binary_frames() {
        assert_eq!(binary(encode(&vec![1u8, 2, 3]).unwrap()), [1, 2, 3]);
        assert_eq!(binary(encode(&[7u8, 8][..]).unwrap()), [7, 8]);
        assert_eq!(binary(encode(&[9u8; 4]).unwrap()), [9; 4]);
        assert_eq!(
            binary(encode(&Bytes::from_static(b"\0\xff")).unwrap()),
            [0, 255]
        );
    }

    #[test]
    fn everything_else_goes_out_as_json_text() {
        let value = serde_json::json!({ "user": "server", "message": "pong" });
        assert_eq!(
            text(encode(&value).unwrap()),
            r#"{"message":"pong","user":"server"}"#
        );
        assert_eq!(text(encode(&vec![1u32, 2]).unwrap()), "[1,2]");
        assert_eq!(text(encode(&42).unwrap()), "42");
        assert_eq!(text(encode(&Some("x")).unwrap()), "\"x\"");
        assert_eq!(text(encode(&Vec::<u8>::new()).unwrap()), "[]");
        assert_eq!(text(encode(&(1u8, "a")).unwrap()), r#"[1,"a"]"#);
    }

    #[test]
    fn received_messages_echo_with_their_kind() {
        let t = Message::from_text(Utf8Bytes::from("hello"));
        assert_eq!(text(encode(&t).unwrap()), "hello");
        let b = Message::from_binary(Bytes::from_static(&[1, 2]));
        assert_eq!(binary(encode(&b).unwrap()), [1, 2]);
    }

    #[test]
    fn an_echoed_message_shares_its_bytes_and_other_serializers_still_see_text() {
        let received = Message::from_text(Utf8Bytes::from("shared".to_owned()));
        let Ok(WireMessage::Text(sent)) = encode(&received) else {
            panic!("a text frame");
        };
        assert!(std::ptr::eq(sent.as_bytes(), received.bytes()), "copied");

        let data = Bytes::from(vec![7u8; 32]);
        let received = Message::from_binary(data.clone());
        let Ok(WireMessage::Binary(sent)) = encode(&received) else {
            panic!("a binary frame");
        };
        assert!(std::ptr::eq(&sent[..], &data[..]), "copied");

        // Inside a struct (JSON), the message is its text, and nothing is left behind for a
        // later plain string to pick up by mistake.
        #[derive(serde::Serialize)]
        struct Wrapped {
            m: Message,
        }
        let wrapped = Wrapped {
            m: Message::from_text(Utf8Bytes::from("inner")),
        };
        assert_eq!(text(encode(&wrapped).unwrap()), r#"{"m":"inner"}"#);
        assert_eq!(text(encode("after").unwrap()), "after");
    }

    #[test]
    fn unencodable_payloads_are_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u32], 1);
        let error = encode(&map).unwrap_err();
        assert!(
            error.to_string().contains("cannot be serialized as JSON"),
            "{error}"
        );
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
