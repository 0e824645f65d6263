//! What a cleartext connection's first bytes say: HTTP/2 with prior knowledge (RFC 9113 §3.3), as
//! a proxy or a test client speaks it, starts with the connection preface; a WebSocket handshake
//! that `serve` answers itself ([`direct`](super::direct)) is a whole `GET` head with `Upgrade:
//! websocket`; anything else is HTTP/1.1 for hyper.

use std::future::poll_fn;
use std::io;
use std::task::{Poll, ready};

use axum::body::Body;
use axum::http::Request;
use tokio::io::ReadBuf;
use tokio::net::TcpStream;

use super::direct;
use crate::read_buffer;

/// The start of HTTP/2's connection preface, `PRI * HTTP/2.0…`: `PRI` was reserved so that no
/// HTTP/1.1 method begins that way.
const PREFACE_START: &[u8] = b"PRI";

/// How much of a connection's first bytes is looked at: a browser's WebSocket handshake, cookies
/// and all, fits; a larger head goes to hyper.
const LOOK_MAX: usize = 8 << 10;

/// What the first bytes say.
#[derive(Debug)]
pub(super) enum First {
    Http2,
    /// A WebSocket handshake to answer without hyper, and its head's length.
    WebSocket(Box<Request<Body>>, usize),
    Http1,
}

/// Looks at the client's first bytes without taking them (one `peek`, into the thread's read
/// buffer; nothing kept); waits for them. HTTP/2's preface counts only with `h2c`; a WebSocket
/// handshake only within `max_head` bytes and `max_headers` headers. A client that sends fewer
/// than three bytes first is spoken to in HTTP/1.1, which reads on.
pub(super) async fn look(
    stream: &TcpStream,
    h2c: bool,
    max_head: usize,
    max_headers: usize,
) -> io::Result<First> {
    poll_fn(|cx| {
        read_buffer::with(|buffer| {
            let limit = buffer.len().min(LOOK_MAX).min(max_head);
            let mut first = ReadBuf::new(&mut buffer[..limit]);
            ready!(stream.poll_peek(cx, &mut first))?;
            let bytes = first.filled();
            Poll::Ready(if bytes.is_empty() {
                Err(io::ErrorKind::UnexpectedEof.into())
            } else if h2c && bytes.starts_with(PREFACE_START) {
                Ok(First::Http2)
            } else if let Some((request, head_len)) = direct::handshake(bytes, max_headers) {
                Ok(First::WebSocket(Box::new(request), head_len))
            } else {
                Ok(First::Http1)
            })
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn first_bytes(bytes: &[u8]) -> io::Result<First> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        client.write_all(bytes).await?;
        if bytes.is_empty() {
            drop(client);
        }
        look(&server, true, 64 << 10, 100).await
    }

    async fn is_http2(bytes: &[u8]) -> io::Result<bool> {
        Ok(matches!(first_bytes(bytes).await?, First::Http2))
    }

    #[tokio::test]
    async fn the_preface_is_http2_and_requests_are_not() {
        assert!(is_http2(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap());
        for request in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /x HTTP/1.1\r\n",
            b"PROPFIND / HTTP/1.1\r\n",
            b"PUT / HTTP/1.1\r\n",
            b"P",
        ] {
            assert!(!is_http2(request).await.unwrap(), "{request:?}");
        }
        assert!(first_bytes(b"").await.is_err(), "a closed connection");
    }

    #[tokio::test]
    async fn a_whole_websocket_handshake_is_seen_and_a_partial_one_is_not() {
        let handshake = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
        match first_bytes(handshake).await.unwrap() {
            First::WebSocket(request, len) => {
                assert_eq!(request.uri(), "/ws");
                assert_eq!(len, handshake.len());
            }
            other => panic!("{other:?}"),
        }
        let partial = &handshake[..handshake.len() - 2];
        assert!(matches!(first_bytes(partial).await.unwrap(), First::Http1));
    }
}
