//! Which HTTP a cleartext connection speaks: HTTP/2 with prior knowledge (RFC 9113 §3.3), as a
//! proxy or a test client does, starts with the connection preface; anything else is HTTP/1.1.

use std::io;

use tokio::net::TcpStream;

/// The start of HTTP/2's connection preface, `PRI * HTTP/2.0…`: `PRI` was reserved so that no
/// HTTP/1.1 method begins that way.
const PREFACE_START: &[u8] = b"PRI";

/// Whether the client's first bytes are HTTP/2's preface, looked at without taking them (one
/// `peek`, no buffer kept); waits for the first bytes. A client that sends fewer than three
/// bytes first is spoken to in HTTP/1.1, which reads on.
pub(super) async fn is_http2(stream: &TcpStream) -> io::Result<bool> {
    let mut start = [0u8; PREFACE_START.len()];
    let n = stream.peek(&mut start).await?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(start[..n] == *PREFACE_START)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn first_bytes(bytes: &[u8]) -> io::Result<bool> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        client.write_all(bytes).await?;
        if bytes.is_empty() {
            drop(client);
        }
        is_http2(&server).await
    }

    #[tokio::test]
    async fn the_preface_is_http2_and_requests_are_not() {
        assert!(
            first_bytes(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await
                .unwrap()
        );
        for request in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /x HTTP/1.1\r\n",
            b"PROPFIND / HTTP/1.1\r\n",
            b"PUT / HTTP/1.1\r\n",
            b"P",
        ] {
            assert!(!first_bytes(request).await.unwrap(), "{request:?}");
        }
        assert!(first_bytes(b"").await.is_err(), "a closed connection");
    }
}
