//! The WebSocket handshake (RFC 6455 §4.2) on hyper's upgrade, and the connection a session reads
//! and writes: nitrous upgrades connections itself rather than through axum's `WebSocketUpgrade`,
//! so it chooses the I/O under tungstenite ([`Conn`]) and keeps no wrapper per connection.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;

/// A session's connection.
pub(crate) type Socket = WebSocketStream<Conn<TokioIo<Upgraded>>>;

/// A valid handshake request, not answered yet.
pub(crate) struct Handshake {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Why a request is not a WebSocket handshake: its status and a message that says what is wrong.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    message: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, self.message).into_response()
    }
}

/// Checks that `parts` asks for a WebSocket (HTTP/1.1 GET with the upgrade headers, version 13)
/// and takes hyper's upgrade from it.
pub(crate) fn handshake(parts: &mut Parts) -> Result<Handshake, Refusal> {
    let refuse = |status: StatusCode, message: &'static str| Err(Refusal { status, message });
    if parts.version > Version::HTTP_11 {
        return refuse(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "WebSocket upgrades need HTTP/1.1; WebSockets over HTTP/2 are not supported",
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
    if !has_token(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the `Sec-WebSocket-Version` header is not 13",
        );
    }
    let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the `Sec-WebSocket-Key` header is missing",
        );
    };
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded (no upgrade state from the server)",
        );
    };
    Ok(Handshake { key, on_upgrade })
}

impl Handshake {
    /// The `101 Switching Protocols` answer, and the upgrade that completes once it is sent.
    pub(crate) fn accept(self, protocol: Option<HeaderValue>) -> (Response, OnUpgrade) {
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::try_from(accept).expect("base64 is a valid header value"),
        );
        if let Some(protocol) = protocol {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        (response, self.on_upgrade)
    }
}

/// Whether a request asks to become a WebSocket (its `Upgrade` header says so), valid or not: a
/// route with an HTTP answer too sends such a request to [`handshake`], which says what is wrong.
pub(crate) fn asks_for_websocket(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket")
}

/// Whether a comma-separated header holds `token` (case-insensitive), in any of its values.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|b| *b == b',')
            .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// How much one read from the socket may take at once.
const SCRATCH: usize = 64 << 10;

thread_local! {
    /// One read buffer per thread, shared by every connection it serves: a connection's own
    /// buffer stays small (its idle cost), yet a large message arrives in few reads.
    static SCRATCH_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// The I/O under tungstenite: when a read fills tungstenite's buffer, the rest waiting on the
/// socket is read at once through the thread's scratch buffer, and only the bytes tungstenite has
/// no room for yet are kept per connection (and let go once it takes them).
///
/// tungstenite reads at most its read buffer's size per call (nitrous keeps that buffer small:
/// it is held by every idle connection); without this, a 16 KiB message would take many reads
/// from the socket instead of two.
#[derive(Debug)]
pub(crate) struct Conn<S> {
    inner: S,
    /// Read from the socket, not yet handed to tungstenite; empty (no allocation) when caught up.
    spill: Vec<u8>,
    /// How much of `spill` was handed over.
    taken: usize,
}

impl<S> Conn<S> {
    pub(crate) fn new(inner: S) -> Conn<S> {
        Conn {
            inner,
            spill: Vec::new(),
            taken: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.taken < this.spill.len() {
            let rest = &this.spill[this.taken..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.taken += n;
            if this.taken == this.spill.len() {
                this.spill = Vec::new();
                this.taken = 0;
            }
            return Poll::Ready(Ok(()));
        }
        // Straight into tungstenite's buffer first: a message that fits costs no copy.
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.remaining() > 0 || buf.filled().len() == before {
            return Poll::Ready(Ok(())); // all there was, or the end of the stream
        }
        // The buffer is full and more may be waiting: take it in one read, through the thread's
        // scratch buffer, and keep what does not fit for the next calls.
        SCRATCH_BUFFER.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return; // not reentrant in practice; the next call reads on
            };
            let mut more = ReadBuf::new(&mut scratch[..]);
            // Pending (nothing more yet) leaves the task registered for readiness: harmless.
            if let Poll::Ready(Ok(())) = Pin::new(&mut this.inner).poll_read(cx, &mut more) {
                this.spill = more.filled().to_vec();
            }
        });
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_get_every_byte_in_order_and_keep_nothing_after() {
        let (mut client, server) = tokio::io::duplex(256 << 10);
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&sent).await.unwrap();
        drop(client);

        let mut conn = Conn::new(server);
        let mut got = Vec::new();
        let mut chunk = [0u8; 1000];
        loop {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "bytes reordered or changed");
        assert_eq!(conn.spill.capacity(), 0, "caught up: nothing kept");
    }

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
    fn the_accept_key_is_rfc_6455s_example() {
        // RFC 6455 §1.3: this key's accept value.
        let accept = tungstenite::handshake::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
