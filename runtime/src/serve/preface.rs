//! What a cleartext connection's first bytes say: HTTP/2 with prior knowledge (RFC 9113 §3.3), as
//! a proxy or a test client speaks it, starts with the connection preface; a WebSocket handshake
//! that `serve` answers itself ([`direct`](super::direct)) is a whole `GET` head with `Upgrade:
//! websocket`; anything else is HTTP/1.1 for hyper.

use std::future::poll_fn;
use std::io;
use std::task::{Poll, ready};

use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use rustix::net::RecvFlags;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::direct;
use crate::read_buffer;

/// The start of HTTP/2's connection preface, `PRI * HTTP/2.0…`: `PRI` was reserved so that no
/// HTTP/1.1 method begins that way.
const PREFACE_START: &[u8] = b"PRI";

/// How much of a connection's first bytes is read to decide: a browser's WebSocket handshake,
/// cookies and all, fits; a larger head goes to hyper.
const FIRST_MAX: usize = 8 << 10;

/// What the first bytes say, and the bytes.
#[derive(Debug)]
pub(super) enum First {
    /// The bytes read, for hyper to read again.
    Http2(Bytes),
    /// A WebSocket handshake to answer without hyper, and what the client sent after its head
    /// (frames it did not wait to send).
    WebSocket(Box<Request<Body>>, Vec<u8>),
    /// The bytes read, for hyper to read again.
    Http1(Bytes),
}

/// Reads the client's first bytes (one read, through the thread's buffer); waits for them.
/// HTTP/2's preface counts only with `h2c`; a WebSocket handshake only within `max_head` bytes and
/// `max_headers` headers. A client that sends fewer than three bytes first is spoken to in
/// HTTP/1.1, which reads on.
///
/// A read shorter than asked for emptied the socket, and tokio is told so (as `WouldBlock`): it
/// forgets the readiness it had, so that a WebSocket session's first read waits for the client
/// instead of making a system call to find nothing. tokio forgets only readiness it saw before
/// the read (a later event stands), and never the end of the stream.
pub(super) async fn read(
    stream: &TcpStream,
    h2c: bool,
    max_head: usize,
    max_headers: usize,
) -> io::Result<First> {
    poll_fn(|cx| {
        loop {
            ready!(stream.poll_read_ready(cx))?;
            let first = read_buffer::with(|buffer| {
                let limit = buffer.len().min(FIRST_MAX).min(max_head);
                let buffer = &mut buffer[..limit];
                let mut read = 0;
                let outcome = stream.try_io(Interest::READABLE, || {
                    (read, _) = rustix::net::recv(stream, &mut *buffer, RecvFlags::empty())?;
                    if read > 0 && read < limit {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(())
                });
                match outcome {
                    Err(error) if error.kind() != io::ErrorKind::WouldBlock => Some(Err(error)),
                    // Not readable after all: wait again.
                    Err(_) if read == 0 => None,
                    _ => Some(say(&buffer[..read], h2c, max_headers)),
                }
            });
            if let Some(first) = first {
                return Poll::Ready(first);
            }
        }
    })
    .await
}

/// What `bytes`, the connection's first, say.
fn say(bytes: &[u8], h2c: bool, max_headers: usize) -> io::Result<First> {
    if bytes.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if h2c && bytes.starts_with(PREFACE_START) {
        return Ok(First::Http2(Bytes::copy_from_slice(bytes)));
    }
    Ok(match direct::handshake(bytes, max_headers) {
        Some((request, head_len)) => {
            First::WebSocket(Box::new(request), bytes[head_len..].to_vec())
        }
        None => First::Http1(Bytes::copy_from_slice(bytes)),
    })
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
        read(&server, true, 64 << 10, 100).await
    }

    async fn is_http2(bytes: &[u8]) -> io::Result<bool> {
        Ok(matches!(first_bytes(bytes).await?, First::Http2(_)))
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
            First::WebSocket(request, early) => {
                assert_eq!(request.uri(), "/ws");
                assert!(early.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let frame = b"\x81\x80\x00\x00\x00\x00";
        match first_bytes(&[&handshake[..], frame].concat())
            .await
            .unwrap()
        {
            First::WebSocket(_, early) => assert_eq!(early, frame, "what followed the head"),
            other => panic!("{other:?}"),
        }
        let partial = &handshake[..handshake.len() - 2];
        match first_bytes(partial).await.unwrap() {
            First::Http1(read) => assert_eq!(read, partial, "read again by hyper"),
            other => panic!("{other:?}"),
        }
    }
}
