//! The WebSocket handshake (RFC 6455 §4.2) on hyper's upgrade: nitrous upgrades connections
//! itself rather than through axum's `WebSocketUpgrade`, so that the connection's frames are its
//! own ([`Socket`](super::socket::Socket)) and it keeps no wrapper per connection.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};

use super::handoff::Handoff;

/// A valid handshake request, not answered yet.
pub(crate) struct Handshake {
    /// HTTP/1.1's `Sec-WebSocket-Key`; HTTP/2's extended CONNECT has none.
    key: Option<HeaderValue>,
    handoff: Handoff,
}

/// Why a request is not a WebSocket handshake: its status and a message that says what is wrong.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    message: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.message).into_response();
        if matches!(
            self.status,
            StatusCode::UPGRADE_REQUIRED | StatusCode::BAD_REQUEST
        ) {
            // RFC 6455 §4.4: say which version this server speaks.
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

/// Checks that `parts` asks for a WebSocket (an HTTP/1.1 GET with the upgrade headers, or an
/// HTTP/2 extended CONNECT; version 13) and takes hyper's upgrade from it.
pub(crate) fn handshake(parts: &mut Parts) -> Result<Handshake, Refusal> {
    let refuse = |status: StatusCode, message: &'static str| Err(Refusal { status, message });
    if parts.version == Version::HTTP_2 {
        return extended_connect(parts);
    }
    if parts.version > Version::HTTP_2 {
        return refuse(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "WebSockets need HTTP/1.1 or HTTP/2",
        );
    }
    if parts.method != Method::GET {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket upgrade must be a GET request",
        );
    }
    if !has_token(&parts.headers, header::CONNECTION, "upgrade") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the `Connection` header does not include `upgrade`",
        );
    }
    if !asks_for_websocket(&parts.headers) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the `Upgrade` header does not include `websocket`",
        );
    }
    version_13(&parts.headers)?;
    let mut keys = parts.headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (None, _) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the `Sec-WebSocket-Key` header is missing",
            );
        }
        (Some(key), None) if is_websocket_key(key.as_bytes()) => Some(key.clone()),
        (Some(_), None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the `Sec-WebSocket-Key` header is not 16 bytes in base64",
            );
        }
        (Some(_), Some(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the `Sec-WebSocket-Key` header is given more than once",
            );
        }
    };
    Ok(Handshake {
        key,
        handoff: take_handoff(parts)?,
    })
}

/// RFC 8441: a WebSocket on an HTTP/2 stream is a CONNECT request with `:protocol: websocket`
/// (the server announced `SETTINGS_ENABLE_CONNECT_PROTOCOL`); version 13 as over HTTP/1.1, and
/// no key.
fn extended_connect(parts: &mut Parts) -> Result<Handshake, Refusal> {
    let refuse = |status: StatusCode, message: &'static str| Err(Refusal { status, message });
    if parts.method != Method::CONNECT {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a WebSocket over HTTP/2 is an extended CONNECT request (RFC 8441) with `:protocol: websocket`",
        );
    }
    let protocol = parts.extensions.get::<hyper::ext::Protocol>();
    if !protocol.is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket")) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the CONNECT request's `:protocol` is not `websocket`",
        );
    }
    version_13(&parts.headers)?;
    Ok(Handshake {
        key: None,
        handoff: take_handoff(parts)?,
    })
}

/// `Sec-WebSocket-Version: 13`, once.
fn version_13(headers: &HeaderMap) -> Result<(), Refusal> {
    let refuse = |status: StatusCode, message: &'static str| Err(Refusal { status, message });
    let mut versions = headers.get_all(header::SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (None, _) => refuse(
            StatusCode::BAD_REQUEST,
            "the `Sec-WebSocket-Version` header is missing (this server speaks 13)",
        ),
        (Some(version), None) if version.as_bytes().trim_ascii() == b"13" => Ok(()),
        _ => refuse(
            StatusCode::UPGRADE_REQUIRED,
            "the `Sec-WebSocket-Version` header is not 13, the only version this server speaks",
        ),
    }
}

/// How the connection (HTTP/1.1) or stream (HTTP/2) will be handed over.
fn take_handoff(parts: &mut Parts) -> Result<Handoff, Refusal> {
    Handoff::take(parts).ok_or(Refusal {
        status: StatusCode::UPGRADE_REQUIRED,
        message: "this connection cannot be upgraded (no upgrade state from the server)",
    })
}

impl Handshake {
    /// The answer, `101 Switching Protocols` (HTTP/1.1) or `200 OK` (HTTP/2), and how the
    /// connection comes once it is sent.
    pub(crate) fn accept(self, protocol: Option<HeaderValue>) -> (Response, Handoff) {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        if let Some(key) = &self.key {
            let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(
                header::SEC_WEBSOCKET_ACCEPT,
                HeaderValue::try_from(accept).expect("base64 is a valid header value"),
            );
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        }
        let headers = response.headers_mut();
        if let Some(protocol) = protocol {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        (response, self.handoff)
    }
}

/// Whether a request asks to become a WebSocket (its `Upgrade` header says so), valid or not: a
/// route with an HTTP answer too sends such a request to [`handshake`], which says what is wrong.
pub(crate) fn asks_for_websocket(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket")
}

/// Whether a comma-separated header holds `token` (case-insensitive), in any of its values.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(|value| holds_token(value.as_bytes(), token.as_bytes()))
}

/// Whether one comma-separated header value holds `token` (case-insensitive).
pub(crate) fn holds_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

/// Whether `key` is a `Sec-WebSocket-Key` as RFC 6455 §4.1 requires: 16 bytes in base64, which is
/// 22 base64 digits, the last one holding only 2 bits (so one of `A Q g w`), then `==`.
pub(crate) fn is_websocket_key(key: &[u8]) -> bool {
    let digit = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24
        && key[..21].iter().all(digit)
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
        && &key[22..] == b"=="
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_lists_and_any_case() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(has_token(&headers, header::CONNECTION, "upgrade"));
        assert!(!has_token(&headers, header::CONNECTION, "close"));
        assert!(!has_token(&headers, header::UPGRADE, "websocket"));
    }

    #[test]
    fn websocket_keys_are_16_bytes_of_base64() {
        assert!(is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_websocket_key(b"AAAAAAAAAAAAAAAAAAAAAA=="));
        assert!(is_websocket_key(b"/////////////////////w=="));
        for bad in [
            &b""[..],
            b"abc",
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZR==", // the last digit carries bits past 16 bytes
            b"dGhlIHNhbXBsZSBub25jZQ=",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"dGhlIHNhbXBsZSBub25j ZQ==",
            b"dGhlIHNhbXBsZSBub25jZQ=\x00",
            b"dGhlIHNhbXBsZSBub25jZXM=", // 17 bytes
        ] {
            assert!(!is_websocket_key(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        /// Every 16-byte nonce, encoded, is a key; no other length is.
        #[test]
        fn every_encoded_16_byte_nonce_is_a_key(nonce in proptest::collection::vec(0u8.., 0..40)) {
            let encoded = base64(&nonce);
            proptest::prop_assert_eq!(is_websocket_key(encoded.as_bytes()), nonce.len() == 16);
        }

        /// Arbitrary bytes never panic, and pass only in the key's exact shape.
        #[test]
        fn arbitrary_bytes_pass_only_in_the_keys_shape(bytes in proptest::collection::vec(0u8.., 0..30)) {
            if is_websocket_key(&bytes) {
                proptest::prop_assert_eq!(bytes.len(), 24);
                proptest::prop_assert!(bytes.ends_with(b"=="));
            }
        }
    }

    /// Plain base64 with padding, for the property test (nitrous itself never encodes keys).
    fn base64(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(DIGITS[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        // RFC 6455 §1.3: this key's accept value.
        let accept = tungstenite::handshake::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
