//! The bytes under a WebSocket connection: the connection hyper upgraded, or the TCP connection
//! `serve` answered the handshake on itself (HTTP/1.1 in cleartext, [`Handoff`](super::handoff)).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::stall::WriteStall;

/// A WebSocket connection's stream.
pub(crate) enum Stream {
    /// Handed over by hyper once the 101 (or HTTP/2's 200) went out.
    Upgraded(TokioIo<Upgraded>),
    /// The TCP connection itself, its writes still cut when they stall.
    Direct(WriteStall<TcpStream>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
            Stream::Direct(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
            Stream::Direct(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Upgraded(io) => Pin::new(io).poll_flush(cx),
            Stream::Direct(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
            Stream::Direct(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
