//! A WebSocket connection's bytes, both ways (RFC 6455 §5-7): the client's frames read through one
//! buffer per thread, the server's frames gathered and written, pings answered and the closing
//! handshake's frames exchanged.
//!
//! An idle connection holds no buffer: what a read brings is taken frame by frame out of the
//! thread's read buffer, and only what is left of it (a partial frame, or frames behind the one
//! handed on) is kept per connection, until it is taken. Its write buffer holds what the socket
//! has not taken yet, and a grown one is given back once the connection is quiet
//! ([`Socket::rest`]). tungstenite reads a frame into a buffer each connection keeps for its life,
//! at the size of the largest frame it read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tungstenite::error::ProtocolError;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Utf8Bytes;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};

use super::WireMessage;
use super::fragments::Fragments;
use super::frame::{self, Head};
use super::stream::Stream;
use crate::read_buffer;

/// What a connection's frames may be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The longest message, fragments together, and so the longest frame.
    pub(crate) max_message: usize,
    /// How many bytes of frames are gathered before they are written (a flush writes them anyway).
    pub(crate) write_buffer: usize,
}

/// A WebSocket connection, server side.
pub(crate) struct Socket {
    io: Stream,
    limits: Limits,
    /// Read and not yet taken: a partial frame, or frames behind the last one taken. Empty (no
    /// allocation) when caught up.
    held: Vec<u8>,
    /// Where the bytes in `held` not yet taken begin.
    held_at: usize,
    /// A data message arriving in fragments.
    fragments: Option<Box<Fragments>>,
    /// Frames for the client; the first `written` bytes went out.
    out: Vec<u8>,
    written: usize,
    /// A pong or the reply to the client's close frame is in `out`: nothing more is read until it
    /// is written, so a client that floods pings and reads nothing is not read either.
    reply_owed: bool,
    /// A close frame (nitrous's own, or its reply to the client's) is in `out`: nothing more is
    /// sent.
    close_sent: bool,
    /// Nothing more is read: the client's close frame came, the stream ended or failed.
    read_ended: bool,
}

impl Socket {
    /// `early`: bytes of the client's frames read already (with its handshake).
    pub(crate) fn new(io: Stream, limits: Limits, early: Vec<u8>) -> Socket {
        Socket {
            io,
            limits,
            held: early,
            held_at: 0,
            fragments: None,
            out: Vec::new(),
            written: 0,
            reply_owed: false,
            close_sent: false,
            read_ended: false,
        }
    }

    /// The client's next message (a ping or a pong too, and its close frame); `None` once the
    /// stream ended, and after the close frame or an error.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<WireMessage, tungstenite::Error>>> {
        if self.read_ended {
            return Poll::Ready(None);
        }
        let next = ready!(self.poll_message(cx));
        if !matches!(next, Some(Ok(ref message)) if !message.is_close()) {
            self.read_ended = true;
            self.held = Vec::new();
            self.held_at = 0;
            self.fragments = None;
        }
        Poll::Ready(next)
    }

    fn poll_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<WireMessage, tungstenite::Error>>> {
        loop {
            if self.reply_owed {
                if let Err(error) = ready!(self.poll_write_out(cx)) {
                    return Poll::Ready(Some(Err(error.into())));
                }
                self.reply_owed = false;
            }
            match self.take_held() {
                Ok(Some(Some(message))) => return Poll::Ready(Some(Ok(message))),
                Ok(Some(None)) => continue, // a fragment: the message goes on
                Ok(None) => {}              // no whole frame held
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
            match ready!(self.poll_read(cx)) {
                Ok(Some(Some(message))) => return Poll::Ready(Some(Ok(message))),
                Ok(Some(None)) => {}
                Ok(None) => return Poll::Ready(None), // the stream ended
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
        }
    }

    /// The next whole frame in `held`, handled: `None` if there is none; `Some(None)` for a frame
    /// that is part of a message still arriving.
    fn take_held(&mut self) -> Result<Option<Option<WireMessage>>, tungstenite::Error> {
        let rest = &mut self.held[self.held_at..];
        let Some(head) = frame::parse(rest, self.limits.max_message)? else {
            return Ok(None);
        };
        let end = self.held_at + head.frame_len();
        if self.held.len() < end {
            // The frame is partial: room for all of it, once (bounded by the message limit).
            self.compact();
            self.held.reserve_exact(head.frame_len() - self.held.len());
            return Ok(None);
        }
        let start = self.held_at + head.header_len;
        frame::unmask(&mut self.held[start..end], head.mask);
        let whole_buffer = self.held_at == 0 && end == self.held.len();
        let payload = if whole_buffer && head.payload_len > read_buffer::SIZE / 16 {
            // A large frame that is all that is held: its buffer becomes the message's.
            let held = std::mem::take(&mut self.held);
            self.held_at = 0;
            Bytes::from(held).slice(start..end)
        } else {
            let payload = Bytes::copy_from_slice(&self.held[start..end]);
            self.held_at = end;
            if self.held_at == self.held.len() {
                self.held = Vec::new();
                self.held_at = 0;
            }
            payload
        };
        self.handle(head, payload).map(Some)
    }

    /// Reads what is waiting, through the thread's buffer: the first whole frame in it is
    /// handled straight from there, and what is left is kept in `held`. `None` at the end of the
    /// stream.
    fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Option<WireMessage>>, tungstenite::Error>> {
        read_buffer::with(|buffer| {
            let mut read = ReadBuf::new(buffer);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
            let n = read.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(None));
            }
            let bytes = &mut buffer[..n];
            if self.held.len() > self.held_at {
                self.compact();
                self.held.extend_from_slice(bytes);
                return Poll::Ready(Ok(Some(None)));
            }
            let head = match frame::parse(bytes, self.limits.max_message) {
                Ok(Some(head)) if head.frame_len() <= n => head,
                Ok(_) => {
                    // Not a whole frame yet.
                    self.held = bytes.to_vec();
                    self.held_at = 0;
                    return Poll::Ready(Ok(Some(None)));
                }
                Err(error) => return Poll::Ready(Err(error)),
            };
            let (start, end) = (head.header_len, head.frame_len());
            frame::unmask(&mut bytes[start..end], head.mask);
            let payload = Bytes::copy_from_slice(&bytes[start..end]);
            if end < n {
                self.held = bytes[end..].to_vec();
                self.held_at = 0;
            }
            Poll::Ready(self.handle(head, payload).map(Some))
        })
    }

    /// Drops what was taken from the front of `held`.
    fn compact(&mut self) {
        if self.held_at > 0 {
            self.held.drain(..self.held_at);
            self.held_at = 0;
        }
    }

    /// A whole frame, unmasked: the message it ends, if it ends one.
    fn handle(
        &mut self,
        head: Head,
        payload: Bytes,
    ) -> Result<Option<WireMessage>, tungstenite::Error> {
        let max = self.limits.max_message;
        let data = match head.opcode {
            OpCode::Control(Control::Ping) => {
                // Only the latest ping is owed a pong; none after a close frame.
                if !self.close_sent {
                    self.push(OpCode::Control(Control::Pong), &payload);
                    self.reply_owed = true;
                }
                return Ok(Some(WireMessage::Ping(payload)));
            }
            OpCode::Control(Control::Pong) => return Ok(Some(WireMessage::Pong(payload))),
            OpCode::Control(Control::Close) => return self.closed(payload).map(Some),
            OpCode::Control(Control::Reserved(_)) | OpCode::Data(Data::Reserved(_)) => {
                unreachable!("refused by frame::parse")
            }
            OpCode::Data(data) => data,
        };
        match (data, &mut self.fragments) {
            (Data::Continue, None) => Err(frame::protocol(ProtocolError::UnexpectedContinueFrame)),
            (Data::Continue, Some(fragments)) => {
                fragments.extend(&payload, max)?;
                if !head.fin {
                    return Ok(None);
                }
                let fragments = self.fragments.take().expect("checked above");
                fragments.finish().map(Some)
            }
            (data, Some(_)) => Err(frame::protocol(ProtocolError::ExpectedFragment(data))),
            (data, None) if !head.fin => {
                let mut fragments = Box::new(Fragments::new(data == Data::Text));
                fragments.extend(&payload, max)?;
                self.fragments = Some(fragments);
                Ok(None)
            }
            (Data::Text, None) => Ok(Some(WireMessage::Text(Utf8Bytes::try_from(payload)?))),
            (_, None) => Ok(Some(WireMessage::Binary(payload))),
        }
    }

    /// The client's close frame: answered with the same code (or 1002 for a code no endpoint may
    /// send), unless nitrous sent its own already and this is the reply.
    fn closed(&mut self, payload: Bytes) -> Result<WireMessage, tungstenite::Error> {
        let close = match payload.len() {
            0 => None,
            1 => return Err(frame::protocol(ProtocolError::InvalidCloseSequence)),
            _ => Some(CloseFrame {
                code: u16::from_be_bytes([payload[0], payload[1]]).into(),
                reason: Utf8Bytes::try_from(payload.slice(2..))?,
            }),
        };
        if self.close_sent {
            return Ok(WireMessage::Close(close));
        }
        let reply = close.map(|close| {
            if close.code.is_allowed() {
                close
            } else {
                CloseFrame {
                    code: CloseCode::Protocol,
                    reason: Utf8Bytes::from_static("Protocol violation"),
                }
            }
        });
        self.push_close(reply.as_ref());
        self.reply_owed = true;
        Ok(WireMessage::Close(reply))
    }

    /// Ready when a frame may be sent: what is gathered is under the write buffer's size, or was
    /// written.
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), tungstenite::Error>> {
        if self.out.len() - self.written >= self.limits.write_buffer {
            ready!(self.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Gathers a message's frame; it goes out with the next [`poll_ready`](Socket::poll_ready)
    /// that finds the buffer full, or [`poll_flush`](Socket::poll_flush). Nothing is sent after a
    /// close frame.
    pub(crate) fn start_send(&mut self, message: WireMessage) -> Result<(), tungstenite::Error> {
        if self.close_sent {
            return Err(frame::protocol(ProtocolError::SendAfterClosing));
        }
        match message {
            WireMessage::Text(text) => self.push(OpCode::Data(Data::Text), text.as_bytes()),
            WireMessage::Binary(bytes) => self.push(OpCode::Data(Data::Binary), &bytes),
            WireMessage::Ping(bytes) => self.push(OpCode::Control(Control::Ping), &bytes),
            WireMessage::Pong(bytes) => self.push(OpCode::Control(Control::Pong), &bytes),
            WireMessage::Close(close) => self.push_close(close.as_ref()),
            WireMessage::Frame(frame) => frame.format(&mut self.out)?,
        }
        Ok(())
    }

    /// Writes everything gathered and flushes the stream.
    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), tungstenite::Error>> {
        ready!(self.poll_write_out(cx))?;
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// The connection is quiet (nothing to read, everything written): a write buffer that grew
    /// past its size for a large message or a burst is given back.
    pub(crate) fn rest(&mut self) {
        if self.out.is_empty() && self.out.capacity() > self.limits.write_buffer {
            self.out = Vec::new();
        }
    }

    /// Gathers a frame.
    fn push(&mut self, opcode: OpCode, payload: &[u8]) {
        self.reserve(frame::HEADER_MAX + payload.len());
        frame::write_header(&mut self.out, opcode, payload.len());
        self.out.extend_from_slice(payload);
    }

    /// Room for `needed` more bytes. The buffer doubles as a `Vec` does, but stops at the write
    /// buffer's size unless one frame needs more: a buffer grown past that size is given back when
    /// the connection is quiet ([`rest`](Socket::rest)), so a burst a little over half of it (its
    /// doubling's last step) would otherwise allocate it anew, from small, every time.
    fn reserve(&mut self, needed: usize) {
        let len = self.out.len();
        if let Some(capacity) = grown(self.out.capacity(), len, needed, self.limits.write_buffer) {
            self.out.reserve_exact(capacity - len);
        }
    }

    /// Gathers a close frame; nothing is sent after it.
    fn push_close(&mut self, close: Option<&CloseFrame>) {
        let mut payload = Vec::new();
        if let Some(close) = close {
            payload.extend_from_slice(&u16::from(close.code).to_be_bytes());
            payload.extend_from_slice(close.reason.as_bytes());
        }
        self.push(OpCode::Control(Control::Close), &payload);
        self.close_sent = true;
    }

    /// Writes what is gathered, until all of it went or the socket refuses more.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.out.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

/// The capacity a write buffer of `capacity`, `len` of it used, grows to for `needed` more bytes:
/// doubled, but not past `limit` unless the bytes need more; `None` when they fit already.
fn grown(capacity: usize, len: usize, needed: usize, limit: usize) -> Option<usize> {
    let wanted = len + needed;
    (wanted > capacity).then(|| capacity.saturating_mul(2).min(limit).max(wanted))
}

#[cfg(test)]
mod tests {
    use super::grown;

    /// A buffer's capacity after each of `frames` frames of `frame` bytes, grown as
    /// `Socket::reserve` grows it.
    fn burst(frames: usize, frame: usize, limit: usize) -> Vec<usize> {
        let (mut len, mut capacity) = (0, 0);
        let mut seen = Vec::new();
        for _ in 0..frames {
            capacity = grown(capacity, len, frame, limit).unwrap_or(capacity);
            len += frame;
            seen.push(capacity);
        }
        seen
    }

    #[test]
    fn a_burst_grows_the_buffer_by_doubling_up_to_the_write_buffer_and_no_further() {
        // 100 frames of 80 bytes (a topic's burst): 8,000 bytes, under the 8 KiB write buffer.
        let seen = burst(100, 80, 8 << 10);
        assert_eq!(seen[0], 80, "one frame: as much as it needs");
        assert_eq!(
            *seen.last().unwrap(),
            8 << 10,
            "kept by `rest`, so the next burst reuses it"
        );
        let mut steps = seen.clone();
        steps.dedup();
        assert_eq!(steps, [80, 160, 320, 640, 1280, 2560, 5120, 8 << 10]);
    }

    #[test]
    fn a_frame_larger_than_the_write_buffer_gets_the_room_it_needs() {
        assert_eq!(grown(0, 0, 64 << 10, 8 << 10), Some(64 << 10));
        assert_eq!(
            grown(8 << 10, 6000, 64 << 10, 8 << 10),
            Some(6000 + (64 << 10))
        );
        assert_eq!(
            grown(8 << 10, 6000, 100, 8 << 10),
            None,
            "it fits: no growth"
        );
    }
}
