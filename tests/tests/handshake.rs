//! The WebSocket handshake over HTTP/1.1 in cleartext, which `nitrous::serve` answers itself
//! (without hyper, the router and its layers answering): what the client sees on the wire, frames
//! sent right behind the request, refusals, and heads that arrive in pieces (those go to hyper).

mod support;

use nitrous::axum;
use nitrous::axum::http::HeaderValue;
use nitrous_tests::{AppState, router};
use support::Server;
use support::raw::{self, TEXT, frame, parse_frame, upgrade_request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The fixture's routes, with a layer that marks every response.
async fn start() -> Server {
    let app = router()
        .with_state(AppState::default())
        .layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                let mark = HeaderValue::from_static("ran");
                response.headers_mut().insert("x-layer", mark);
                response
            },
        ));
    Server::start(app).await
}

/// Reads until one whole frame has come; takes it off the front of `received`.
async fn one_frame(stream: &mut TcpStream, received: &mut Vec<u8>) -> (u8, Vec<u8>) {
    loop {
        if let Some((opcode, payload, used)) = parse_frame(received) {
            received.drain(..used);
            return (opcode, payload);
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(support::ws::WAIT, stream.read(&mut chunk))
            .await
            .expect("a frame in time")
            .expect("read");
        assert!(n > 0, "closed before a frame: {received:?}");
        received.extend_from_slice(&chunk[..n]);
    }
}

/// Reads to the end of the stream: what came, once the server closed the connection.
async fn to_the_end(stream: &mut TcpStream, mut received: Vec<u8>) -> Vec<u8> {
    tokio::time::timeout(support::ws::WAIT, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("read");
    received
}

#[tokio::test]
async fn the_101_runs_the_layers_and_carries_no_body_framing() {
    let server = start().await;
    let (_stream, head) =
        raw::exchange(&server.addr.to_string(), &upgrade_request("/ws/echo", &[])).await;
    assert_eq!(head.status, 101, "{head:?}");
    assert_eq!(head.header("upgrade"), Some("websocket"));
    assert_eq!(head.header("connection"), Some("upgrade"));
    assert_eq!(
        head.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(
        head.header("x-layer"),
        Some("ran"),
        "the router's layer ran"
    );
    // RFC 9110 §8.6: no Content-Length in a 1xx response (axum's empty body has one).
    assert_eq!(head.header("content-length"), None, "{head:?}");
    assert_eq!(head.header("transfer-encoding"), None, "{head:?}");
}

#[tokio::test]
async fn frames_written_with_the_request_are_not_lost() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // The handshake and two frames in one write (a client must wait for the 101, but bytes that
    // come early belong to the WebSocket, not to the request).
    let mut bytes = upgrade_request("/ws/echo", &[]);
    bytes.extend_from_slice(&frame(TEXT, b"first"));
    bytes.extend_from_slice(&frame(TEXT, b"second"));
    stream.write_all(&bytes).await.unwrap();
    let head = raw::read_head(&mut stream).await;
    assert_eq!(head.status, 101, "{head:?}");
    let mut received = head.body_start;
    let mut echoed = Vec::new();
    while echoed.len() < 2 {
        let (opcode, payload) = one_frame(&mut stream, &mut received).await;
        assert_eq!(opcode, TEXT);
        echoed.push(String::from_utf8(payload).unwrap());
    }
    assert_eq!(echoed, ["first", "second"]);
}

#[tokio::test]
async fn a_refused_handshake_gets_its_answer_and_the_connection_closes() {
    let server = start().await;
    let addr = server.addr.to_string();
    // No key: the route refuses with 400 and says why.
    let request = upgrade_request("/ws/echo", &["Sec-WebSocket-Key: "]);
    let (mut stream, head) = raw::exchange(&addr, &request).await;
    assert_eq!(head.status, 400, "{head:?}");
    assert_eq!(
        head.header("x-layer"),
        Some("ran"),
        "the layer ran on the refusal too"
    );
    assert_eq!(head.header("connection"), Some("close"));
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    let body = to_the_end(&mut stream, head.body_start).await;
    assert_eq!(body.len(), length, "the body, then the end: {body:?}");
    assert!(
        String::from_utf8_lossy(&body).contains("Sec-WebSocket-Key"),
        "{body:?}"
    );
    // A page from another origin, on a route that takes its own origin only: 403.
    let request = upgrade_request("/ws/chat", &["Origin: https://elsewhere.example"]);
    let (_, head) = raw::exchange(&addr, &request).await;
    assert_eq!(head.status, 403, "{head:?}");
    // An upgrade asked of a route that is not a WebSocket: its answer, then the end.
    let (mut stream, head) = raw::exchange(&addr, &upgrade_request("/api/hello", &[])).await;
    assert_eq!(head.status, 200, "{head:?}");
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    let body = to_the_end(&mut stream, head.body_start).await;
    assert_eq!(body.len(), length);
}

#[tokio::test]
async fn a_head_that_comes_in_pieces_is_answered_too() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = upgrade_request("/ws/echo", &[]);
    // Half the head in one write, the rest in another. Whether the server looks at the first
    // bytes before the rest arrive is up to the scheduler (`preface`'s unit test covers a partial
    // head seen alone, which goes to hyper); either way the handshake is answered.
    let (first, rest) = request.split_at(request.len() / 2);
    stream.write_all(first).await.unwrap();
    stream.write_all(rest).await.unwrap();
    let head = raw::read_head(&mut stream).await;
    assert_eq!(head.status, 101, "{head:?}");
    assert_eq!(head.header("x-layer"), Some("ran"));
    stream.write_all(&frame(TEXT, b"hello")).await.unwrap();
    let mut received = head.body_start;
    let (opcode, payload) = one_frame(&mut stream, &mut received).await;
    assert_eq!((opcode, payload.as_slice()), (TEXT, &b"hello"[..]));
}
