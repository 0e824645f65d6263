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
    let mut versions = parts.headers.get_all(header::SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (None, _) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the `Sec-WebSocket-Version` header is missing (this server speaks 13)",
            );
        }
        (Some(version), None) if version.as_bytes().trim_ascii() == b"13" => {}
        _ => {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "the `Sec-WebSocket-Version` header is not 13, the only version this server speaks",
            );
        }
    }
    let mut keys = parts.headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (None, _) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the `Sec-WebSocket-Key` header is missing",
            );
        }
        (Some(key), None) if is_websocket_key(key.as_bytes()) => key.clone(),
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

/// Whether `key` is a `Sec-WebSocket-Key` as RFC 6455 §4.1 requires: 16 bytes in base64, which is
/// 22 base64 digits, the last one holding only 2 bits (so one of `A Q g w`), then `==`.
pub(crate) fn is_websocket_key(key: &[u8]) -> bool {
    let digit = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24
        && key[..21].iter().all(digit)
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
        && &key[22..] == b"=="
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
///
/// It also bounds what a ping costs: tungstenite answers every ping with a pong in its write
/// buffer, which has no limit. Once a pong is owed and the socket refuses writes (the client does
/// not read), nothing more is read from that client until a write goes through, so a client that
/// floods pings and never reads their pongs is simply not read (and meets the heartbeat timeout),
/// while what the server holds for it stays at about one read buffer's worth of pongs. The write
/// that was refused registered the task for writability, so reading resumes as soon as the
/// client takes its bytes. (Data replies it does not read are bounded by the outbound queue.)
#[derive(Debug)]
pub(crate) struct Conn<S> {
    inner: S,
    /// Read from the socket, not yet handed to tungstenite; empty (no allocation) when caught up.
    spill: Vec<u8>,
    /// How much of `spill` was handed over.
    taken: usize,
    /// The socket's last write was refused.
    write_blocked: bool,
    /// A ping was read and its pong may not have gone out yet.
    pong_owed: bool,
}

impl<S> Conn<S> {
    pub(crate) fn new(inner: S) -> Conn<S> {
        Conn {
            inner,
            spill: Vec::new(),
            taken: 0,
            write_blocked: false,
            pong_owed: false,
        }
    }

    /// A ping was read: tungstenite writes its pong before it reads on; while that write is
    /// refused, reading waits.
    pub(crate) fn owe_pong(&mut self) {
        self.pong_owed = true;
    }

    fn wrote(&mut self, result: &Poll<io::Result<usize>>) {
        match result {
            Poll::Pending => self.write_blocked = true,
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.write_blocked = false;
                self.pong_owed = false;
            }
            Poll::Ready(_) => {}
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
        if this.pong_owed && this.write_blocked {
            // The refused write wakes the task (tokio-tungstenite's write waker wakes its reader
            // too), and tungstenite retries it before it reads again.
            return Poll::Pending;
        }
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
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(&result);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(&result);
        result
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
