//! A WebSocket client that misbehaves on purpose: the handshake written by hand, frames built byte
//! by byte, and nothing answered unless the test says so (a client library would answer pings
//! and refuse to send what these tests send).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A valid `Sec-WebSocket-Key` (RFC 6455's example).
pub(crate) const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An HTTP response head: its status and headers (names in lower case).
#[derive(Debug)]
pub(crate) struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body_start: Vec<u8>,
}

impl Head {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The request head of a WebSocket upgrade of `path` with a valid key, plus `extra` header lines
/// (each `name: value`), ended by the empty line.
pub(crate) fn upgrade_request(path: &str, extra: &[&str]) -> Vec<u8> {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\n"
    )
    .into_bytes();
    if !extra
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("sec-websocket-key"))
    {
        request.extend_from_slice(format!("Sec-WebSocket-Key: {KEY}\r\n").as_bytes());
    }
    for line in extra {
        request.extend_from_slice(line.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request
}

/// Sends `request` (raw bytes) on a new connection to `addr` and reads the response head.
pub(crate) async fn exchange(addr: &str, request: &[u8]) -> (TcpStream, Head) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send the request");
    let head = read_head(&mut stream).await;
    (stream, head)
}

/// Reads an HTTP response head (within 5 s).
pub(crate) async fn read_head(stream: &mut TcpStream) -> Head {
    read_head_within(stream, Duration::from_secs(5)).await
}

/// Reads an HTTP response head, which must come within `limit` (by tokio's clock).
pub(crate) async fn read_head_within(stream: &mut TcpStream, limit: Duration) -> Head {
    let mut buffer = Vec::new();
    let end = tokio::time::timeout(limit, async {
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                return end;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read the response");
            assert!(
                n > 0,
                "the connection closed before a response head: {buffer:?}"
            );
            buffer.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no response head within {limit:?}"));
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Head {
        status,
        headers,
        body_start: buffer[end + 4..].to_vec(),
    }
}

/// Opens a WebSocket on `path` by hand; panics unless the server answers 101. Returns the
/// socket and what the server sent after the handshake in the same read (an `open` hook's first
/// frames, perhaps).
pub(crate) async fn open(addr: &str, path: &str) -> (TcpStream, Vec<u8>) {
    let (stream, head) = exchange(addr, &upgrade_request(path, &[])).await;
    assert_eq!(head.status, 101, "{head:?}");
    (stream, head.body_start)
}

/// Opcodes of the frames these tests send.
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;

/// One final, masked client frame (RFC 6455 §5.2); the mask is fixed, which the protocol allows.
pub(crate) fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    out
}

/// A frame the server sent, parsed from the start of `bytes`: (opcode, payload, its length in
/// `bytes`), or `None` when `bytes` does not hold a whole frame yet.
pub(crate) fn parse_frame(bytes: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&first, rest) = bytes.split_first()?;
    let (&second, rest) = rest.split_first()?;
    assert_eq!(second & 0x80, 0, "a server's frames are not masked");
    let (len, rest) = match second & 0x7f {
        126 => {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*len)), rest)
        }
        127 => {
            let (len, rest) = rest.split_first_chunk::<8>()?;
            (usize::try_from(u64::from_be_bytes(*len)).ok()?, rest)
        }
        n => (usize::from(n), rest),
    };
    let payload = rest.get(..len)?.to_vec();
    let used = bytes.len() - rest.len() + len;
    Some((first & 0x0f, payload, used))
}
