//! HTTP/2 written by hand (RFC 9113 frames, HPACK literals without Huffman or indexing), for
//! clients that misbehave on purpose: a client library would refuse to.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const WINDOW_UPDATE: u8 = 0x8;
pub(crate) const CONTINUATION: u8 = 0x9;

pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;

/// SETTINGS_INITIAL_WINDOW_SIZE's identifier.
pub(crate) const INITIAL_WINDOW_SIZE: u16 = 0x4;

/// One frame: a 9-byte header, then `payload`.
pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    assert!(len < 1 << 24, "a frame's length has 24 bits");
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend((stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// HPACK's integer with an `prefix`-bit prefix (RFC 7541 §5.1), under the `first` byte's flags.
fn integer(first: u8, prefix: u32, mut value: usize, out: &mut Vec<u8>) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A header field as a literal without indexing, its name new (RFC 7541 §6.2.2), no Huffman.
pub(crate) fn literal(name: &str, value: &str, out: &mut Vec<u8>) {
    out.push(0x00);
    integer(0x00, 7, name.len(), out);
    out.extend_from_slice(name.as_bytes());
    integer(0x00, 7, value.len(), out);
    out.extend_from_slice(value.as_bytes());
}

/// The header block of `GET path`.
pub(crate) fn get(path: &str) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "localhost"),
    ] {
        literal(name, value, &mut block);
    }
    block
}

/// A connection that has sent its preface and `settings` (identifier, value) and acknowledged the
/// server's; frames it reads are kept in order.
pub(crate) struct Raw {
    pub(crate) stream: TcpStream,
    buffer: Vec<u8>,
}

/// A frame the server sent.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream: u32,
    pub(crate) payload: Vec<u8>,
}

impl Raw {
    pub(crate) async fn open(addr: &str, settings: &[(u16, u32)]) -> Raw {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut opening = PREFACE.to_vec();
        let mut payload = Vec::new();
        for (id, value) in settings {
            payload.extend(id.to_be_bytes());
            payload.extend(value.to_be_bytes());
        }
        opening.extend(frame(SETTINGS, 0, 0, &payload));
        stream.write_all(&opening).await.unwrap();
        let mut raw = Raw {
            stream,
            buffer: Vec::new(),
        };
        let first = raw.next().await.expect("the server's SETTINGS");
        assert_eq!((first.kind, first.flags), (SETTINGS, 0), "{first:?}");
        raw.send(&frame(SETTINGS, ACK, 0, &[])).await.unwrap();
        raw
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next frame, or `None` once the server closed the connection (or reset it); bounded
    /// by 10 s.
    pub(crate) async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if self.buffer.len() >= 9 {
                    let len = usize::from(self.buffer[0]) << 16
                        | usize::from(self.buffer[1]) << 8
                        | usize::from(self.buffer[2]);
                    if self.buffer.len() >= 9 + len {
                        let head: Vec<u8> = self.buffer.drain(..9).collect();
                        let payload = self.buffer.drain(..len).collect();
                        return Some(Frame {
                            kind: head[3],
                            flags: head[4],
                            stream: u32::from_be_bytes(head[5..9].try_into().unwrap())
                                & 0x7fff_ffff,
                            payload,
                        });
                    }
                }
                let mut chunk = [0u8; 16 << 10];
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await
        .expect("a frame, or the end of the connection, within 10 s")
    }

    /// Reads until the server's GOAWAY (its error code) or the end of the connection (`None`).
    pub(crate) async fn until_goaway(&mut self) -> Option<u32> {
        while let Some(frame) = self.next().await {
            if frame.kind == GOAWAY {
                return Some(u32::from_be_bytes(frame.payload[4..8].try_into().unwrap()));
            }
        }
        None
    }
}
