//! What a send or a publish carries: a [`Payload`], text or bytes, refcounted; and
//! [`IntoPayload`], the types that become one. What goes on the wire follows the argument's type,
//! never its content:
//!
//! | argument | payload | on a WebSocket | in an event stream |
//! |---|---|---|---|
//! | `&str`, `String`, `&String`, `Box<str>`, `Cow<str>` | text | a text frame | the data |
//! | `Vec<u8>`, `&[u8]`, `[u8; N]`, `Bytes` (empty ones too) | bytes | a binary frame | the data, decoded lossily |
//! | a received [`Message`](crate::ws::Message) | its own kind, its bytes shared | its kind | |
//! | `serde_json::Value`, `&Value` (`json!(..)`) | JSON text | a text frame | the data |
//! | [`Json`]`(value)` for any other `Serialize` value | JSON text | a text frame | the data |
//!
//! ```
//! use nitrous::{IntoPayload, Json};
//!
//! #[derive(serde::Serialize)]
//! struct Todo { id: u32, done: bool }
//!
//! assert!(Vec::<u8>::new().into_payload().unwrap().is_binary()); // an empty binary message
//! assert_eq!(serde_json::json!([1, 2]).into_payload().unwrap().as_text(), Some("[1,2]"));
//! let todo = Json(Todo { id: 1, done: false }).into_payload().unwrap();
//! assert_eq!(todo.as_text(), Some(r#"{"id":1,"done":false}"#));
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use tungstenite::Utf8Bytes;

/// JSON text, for [`IntoPayload`]: `peer.send(Json(todo))` sends `todo` serialised, as axum's
/// `Json` answers a request with it. (This is axum's `Json`, re-exported.)
pub use axum::Json;

/// Text or bytes, as every subscriber of a publish shares it: cloning one only bumps a refcount.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(pub(crate) Repr);

/// Text keeps its proof of being UTF-8 (tungstenite's `Utf8Bytes` is `Bytes` that is known to be
/// UTF-8), so a WebSocket frame or an event is made from it without a check or a copy.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Repr {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Payload {
    /// A text payload.
    pub fn text(text: impl Into<String>) -> Payload {
        Payload(Repr::Text(Utf8Bytes::from(text.into())))
    }

    /// A binary payload.
    pub fn binary(bytes: impl Into<Bytes>) -> Payload {
        Payload(Repr::Binary(bytes.into()))
    }

    /// `value` as JSON text.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Payload, PayloadError> {
        serde_json::to_string(value)
            .map(Payload::text)
            .map_err(PayloadError)
    }

    /// Text that is known to be UTF-8 already.
    pub(crate) fn from_utf8(text: Utf8Bytes) -> Payload {
        Payload(Repr::Text(text))
    }

    /// Bytes that are text if they are UTF-8 (what a broker carries).
    pub(crate) fn text_from_bytes(bytes: Bytes) -> Option<Payload> {
        Utf8Bytes::try_from(bytes).ok().map(Payload::from_utf8)
    }

    /// Whether it is text (a text frame on a WebSocket).
    pub fn is_text(&self) -> bool {
        matches!(self.0, Repr::Text(_))
    }

    /// Whether it is bytes (a binary frame on a WebSocket).
    pub fn is_binary(&self) -> bool {
        matches!(self.0, Repr::Binary(_))
    }

    /// The text of a text payload; `None` for bytes.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(text) => Some(text.as_str()),
            Repr::Binary(_) => None,
        }
    }

    /// The payload as text: a text payload as it is, bytes decoded lossily.
    pub fn to_text_lossy(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text(text) => Cow::Borrowed(text.as_str()),
            Repr::Binary(bytes) => String::from_utf8_lossy(bytes),
        }
    }

    /// The bytes, text or not.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Text(text) => text.as_bytes(),
            Repr::Binary(bytes) => bytes,
        }
    }

    /// The bytes, without a copy.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Text(text) => Bytes::from(text),
            Repr::Binary(bytes) => bytes,
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether it has no bytes (an empty payload is still text or binary).
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Text(text) => f.debug_tuple("Text").field(&text.as_str()).finish(),
            Repr::Binary(bytes) => f.debug_tuple("Binary").field(bytes).finish(),
        }
    }
}

/// A value that could not be made into a payload: it failed to serialise as JSON.
#[derive(Debug)]
pub struct PayloadError(serde_json::Error);

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the payload cannot be serialized as JSON: {}", self.0)
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// What `send` and `publish` take. Each type says what it is (see the [module](self) table):
/// text is text, bytes are binary (empty ones too), a `serde_json::Value` is JSON text, and any
/// other `Serialize` value goes through [`Json`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent or published as it is",
    label = "not text, bytes, a received `Message` or a `serde_json::Value`",
    note = "send text (`&str`, `String`), bytes (`Vec<u8>`, `&[u8]`, `Bytes`) or a `serde_json::Value` (`json!(..)`)",
    note = "to send another `Serialize` value as JSON text, wrap it: `nitrous::Json(value)`"
)]
pub trait IntoPayload {
    /// The payload, or why the value cannot be one (only a [`Json`] value that fails to
    /// serialise).
    fn into_payload(self) -> Result<Payload, PayloadError>;
}

impl IntoPayload for Payload {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(self)
    }
}

impl IntoPayload for &Payload {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(self.clone())
    }
}

macro_rules! text {
    ($($ty:ty),*) => {$(
        impl IntoPayload for $ty {
            fn into_payload(self) -> Result<Payload, PayloadError> {
                Ok(Payload::text(self))
            }
        }
    )*};
}

text!(&str, String, &String, Box<str>, Cow<'_, str>);

macro_rules! binary {
    ($($ty:ty => $into:expr),*) => {$(
        impl IntoPayload for $ty {
            fn into_payload(self) -> Result<Payload, PayloadError> {
                Ok(Payload::binary($into(self)))
            }
        }
    )*};
}

binary!(
    Vec<u8> => Bytes::from,
    &[u8] => Bytes::copy_from_slice,
    &Vec<u8> => |v: &Vec<u8>| Bytes::copy_from_slice(v),
    Box<[u8]> => Bytes::from,
    Bytes => std::convert::identity,
    &Bytes => Bytes::clone
);

impl<const N: usize> IntoPayload for [u8; N] {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(Payload::binary(Bytes::copy_from_slice(&self)))
    }
}

impl<const N: usize> IntoPayload for &[u8; N] {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Ok(Payload::binary(Bytes::copy_from_slice(self)))
    }
}

impl IntoPayload for serde_json::Value {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        (&self).into_payload()
    }
}

impl IntoPayload for &serde_json::Value {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        // A `Value` always serialises (its map keys are strings).
        Payload::json(self)
    }
}

impl<T: Serialize> IntoPayload for Json<T> {
    fn into_payload(self) -> Result<Payload, PayloadError> {
        Payload::json(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_says_what_it_is() {
        let text = |p: Payload| (p.is_text(), p.as_bytes().to_vec());
        assert_eq!(text("".into_payload().unwrap()), (true, vec![]));
        assert_eq!(
            text(String::from("a").into_payload().unwrap()),
            (true, b"a".to_vec())
        );
        assert_eq!(
            text(Vec::<u8>::new().into_payload().unwrap()),
            (false, vec![])
        );
        assert_eq!(
            text((&[1u8, 2][..]).into_payload().unwrap()),
            (false, vec![1, 2])
        );
        assert_eq!(text(b"[]".into_payload().unwrap()), (false, b"[]".to_vec()));
        assert_eq!(text(Bytes::new().into_payload().unwrap()), (false, vec![]));
        let json = serde_json::json!({ "a": [1, "x"] });
        assert_eq!(
            text((&json).into_payload().unwrap()),
            (true, br#"{"a":[1,"x"]}"#.to_vec())
        );
        assert_eq!(
            text(serde_json::json!([]).into_payload().unwrap()),
            (true, b"[]".to_vec())
        );
        assert_eq!(
            text(Json(vec![1, 2]).into_payload().unwrap()),
            (true, b"[1,2]".to_vec())
        );
        assert_eq!(
            text(Json("s").into_payload().unwrap()),
            (true, br#""s""#.to_vec())
        );
    }

    #[test]
    fn a_value_that_cannot_be_json_is_an_error() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1); // a map key that is not a string
        let error = Json(map).into_payload().unwrap_err();
        assert!(
            error.to_string().contains("cannot be serialized as JSON"),
            "{error}"
        );
    }

    #[test]
    fn cloning_shares_the_bytes() {
        let payload = Payload::binary(vec![7u8; 1024]);
        let copy = payload.clone();
        assert_eq!(payload.as_bytes().as_ptr(), copy.as_bytes().as_ptr());
        assert_eq!(Payload::text("é").to_text_lossy(), "é");
        assert_eq!(Payload::binary(vec![0xff]).to_text_lossy(), "\u{fffd}");
    }
}
