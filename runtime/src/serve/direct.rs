//! A WebSocket handshake over HTTP/1.1 in cleartext, answered without hyper: its head is parsed with
//! `httparse` from the connection's first bytes (read once, [`preface::read`]), the router
//! answers it with every layer, and the connection's own task writes the 101 and runs the session.
//! Over hyper the same handshake costs hyper's connection and its buffers, the upgrade's hand-off
//! and a second task.
//!
//! Only a request that is plainly a WebSocket handshake comes this way: `GET`, HTTP/1.1, `Upgrade:
//! websocket`, no body, its whole head in the first bytes and within the header limits. Anything
//! else goes to hyper, which reads the same bytes again first.
//!
//! [`preface::read`]: super::preface::read

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::stall::WriteStall;
use crate::ws::{DirectUpgrade, Stream, holds_token};

/// The most headers a handshake answered here may have; one with more goes to hyper.
const MAX_HEADERS: usize = 64;

/// The largest body of an answer other than the 101 (a refusal) written here; a larger one is not
/// sent, and the connection is closed.
const ANSWER_MAX: usize = 1 << 20;

/// A WebSocket handshake read from a connection, to answer here: the connection, the request,
/// and what the client sent after the request's head.
pub(super) type Handshake = (WriteStall<TcpStream>, Box<Request<Body>>, Vec<u8>);

/// A session, ready to run on the connection's task.
pub(super) type Session = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A WebSocket handshake at the start of `bytes`: the request (extensions not yet added) and the
/// length of its head. `None` if `bytes` do not start with one that can be answered here (then
/// hyper serves the connection).
pub(super) fn handshake(bytes: &[u8], max_headers: usize) -> Option<(Request<Body>, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).ok()? else {
        return None;
    };
    if parsed.method != Some("GET") || parsed.version != Some(1) {
        return None;
    }
    if parsed.headers.len() > max_headers || !plainly_websocket(parsed.headers) {
        return None;
    }
    // One copy of the head; the path and the header values are slices of it, not copies each.
    let head = Bytes::copy_from_slice(&bytes[..head_len]);
    let within = |part: &[u8]| {
        let start = part.as_ptr() as usize - bytes.as_ptr() as usize;
        head.slice(start..start + part.len())
    };
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = Uri::from_maybe_shared(within(parsed.path?.as_bytes())).ok()?;
    let map = request.headers_mut();
    map.reserve(parsed.headers.len());
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_maybe_shared(within(header.value)).ok()?;
        map.append(name, value);
    }
    Some((request, head_len))
}

/// `Upgrade: websocket` (a token of the value, as the route's check reads it) and no body, decided
/// on the raw headers: any other request (most of an HTTP app's) goes to hyper before anything is
/// copied for it.
fn plainly_websocket(headers: &[httparse::Header<'_>]) -> bool {
    let mut websocket = false;
    for header in headers {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(CONTENT_LENGTH.as_str().as_bytes())
            || name.eq_ignore_ascii_case(TRANSFER_ENCODING.as_str().as_bytes())
        {
            return false;
        }
        if name.eq_ignore_ascii_case(UPGRADE.as_str().as_bytes()) {
            websocket |= holds_token(header.value, b"websocket");
        }
    }
    websocket
}

/// Answers the handshake `request`, read from `stream` with `early` (what the client sent after
/// it): the session if the route accepted it (the 101 is written), `None` once any other answer
/// is written and the connection closed.
pub(super) async fn answer(
    mut stream: WriteStall<TcpStream>,
    mut request: Box<Request<Body>>,
    early: Vec<u8>,
    router: Router,
) -> Option<Session> {
    let slot = DirectUpgrade::default();
    request.extensions_mut().insert(slot.clone());
    // Boxed: the router's future holds the request until it is polled, and this future is in
    // every connection's, which stays under glibc's small sizes (1,032 bytes) without it.
    let Ok(response) = Box::pin(router.oneshot(*request)).await;
    if let Some(starter) = slot.take()
        && response.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        let head = head(response.status(), response.headers(), None);
        drop(response);
        if let Err(error) = stream.write_all(&head).await {
            tracing::debug!(remote = %remote(&stream), "nitrous: WebSocket upgrade failed: {error}");
            return None;
        }
        return Some(starter(Stream::Direct(stream), early));
    }
    // A refusal, or whatever else the router answered: written whole, then the connection is
    // closed (the client asked for a WebSocket and will not send another request on it). Boxed:
    // the rarer path's state is no part of the common one's.
    Box::pin(refuse(stream, response)).await;
    None
}

/// The client's address, for a log line: asked of the socket rather than kept, since every
/// connection's future would hold it.
fn remote(stream: &WriteStall<TcpStream>) -> String {
    match stream.get_ref().peer_addr() {
        Ok(remote) => remote.to_string(),
        Err(_) => "(gone)".to_owned(),
    }
}

/// Writes `response` whole with `Connection: close`, then closes.
async fn refuse(mut stream: WriteStall<TcpStream>, response: axum::response::Response) {
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, ANSWER_MAX).await else {
        tracing::debug!(remote = %remote(&stream), "nitrous: an answer to a WebSocket handshake was over {ANSWER_MAX} bytes; closing instead");
        return;
    };
    let mut bytes = head(parts.status, &parts.headers, Some(body.len()));
    bytes.extend_from_slice(&body);
    if stream.write_all(&bytes).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// A response head: the status line and the headers, without the response's own body framing
/// (a 101 has no body: RFC 9110 §8.6); with `body`'s length, its framing and `Connection: close`
/// in place of the response's own.
fn head(status: StatusCode, headers: &HeaderMap, body: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        let framing = name == CONTENT_LENGTH || name == TRANSFER_ENCODING;
        if framing || (body.is_some() && name == CONNECTION) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(len) = body {
        out.extend_from_slice(format!("content-length: {len}\r\nconnection: close\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDSHAKE: &[u8] = b"GET /ws/echo?room=1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn a_handshake_is_read_with_its_head_length() {
        let mut bytes = HANDSHAKE.to_vec();
        bytes.extend_from_slice(b"\x81\x80frames that follow");
        let (request, head_len) = handshake(&bytes, 100).unwrap();
        assert_eq!(head_len, HANDSHAKE.len());
        assert_eq!(request.uri(), "/ws/echo?room=1");
        assert_eq!(request.headers()["sec-websocket-version"], "13");
        assert_eq!(request.headers().len(), 5);
        // `Upgrade` is read as the route reads it: a token of the value, in any case.
        let text = std::str::from_utf8(HANDSHAKE).unwrap();
        let listed = text.replace("Upgrade: websocket", "Upgrade: h2c, WebSocket");
        assert!(handshake(listed.as_bytes(), 100).is_some());
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        let text = std::str::from_utf8(HANDSHAKE).unwrap();
        let others = [
            text.replace("GET", "POST"),
            text.replace("HTTP/1.1", "HTTP/1.0"),
            text.replace("Upgrade: websocket\r\n", ""),
            text.replace("Upgrade: websocket", "Upgrade: h2c"),
            text.replace("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n"),
            text.replace("\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n"),
            text[..text.len() - 2].to_owned(), // the head is not complete yet
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nBad Header: x\r\n\r\n".to_owned(),
        ];
        for other in others {
            assert!(handshake(other.as_bytes(), 100).is_none(), "{other:?}");
        }
        assert!(handshake(HANDSHAKE, 4).is_none(), "over the header count");
    }

    #[test]
    fn a_101_has_no_body_framing() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let head = head(StatusCode::SWITCHING_PROTOCOLS, &headers, None);
        assert_eq!(
            std::str::from_utf8(&head).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\n\r\n"
        );
    }

    #[test]
    fn a_refusal_is_framed_and_closes() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("99"));
        headers.insert("x-why", HeaderValue::from_static("origin"));
        let head = head(StatusCode::FORBIDDEN, &headers, Some(5));
        assert_eq!(
            std::str::from_utf8(&head).unwrap(),
            "HTTP/1.1 403 Forbidden\r\nx-why: origin\r\ncontent-length: 5\r\nconnection: close\r\n\r\n"
        );
    }
}
