//! `nitrous::serve` speaks HTTP/2 beside HTTP/1.1 on one listener: cleartext with prior
//! knowledge (h2c), and over TLS where ALPN chooses (feature `tls`). HTTP routes, many event
//! streams on one connection, and WebSockets over HTTP/2 streams (RFC 8441), with real clients:
//! hyper's HTTP/2 client over TCP and rustls, tokio-tungstenite over the upgraded stream.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper::Version;
use nitrous_tests::{AppState, router};
use serde_json::Value;
use support::Server;
use support::certs::certificates;
use support::h2::{self, H2Socket, get, h2c, tls, tls_connector, websocket};
use support::ws::{WAIT, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

async fn start() -> Server {
    Server::start(router().with_state(AppState::default())).await
}

/// A server with TLS from a certificate for `localhost` made for the test; returns the CA too.
async fn start_tls() -> (Server, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "nitrous-https-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir, "server");
    let tls = nitrous::Tls::from_pem_files(dir.join("server.crt"), dir.join("server.key"))
        .expect("the test certificate");
    let server = Server::start_with(router().with_state(AppState::default()), |serve| {
        serve.tls(tls)
    })
    .await;
    (server, dir.join("ca.crt"))
}

/// The next text frame of a WebSocket over HTTP/2, as JSON.
async fn json_over(socket: &mut H2Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

#[tokio::test]
async fn cleartext_http2_reaches_http_routes() {
    let server = start().await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    for _ in 0..3 {
        let response = get(&mut h2, "/api/hello").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(h2::text(response).await, "hello from GET");
    }
    // HTTP/1.1 on the same listener, as before.
    let (status, body) = support::get(&server.url("/api/hello")).await;
    assert_eq!((status, body.as_str()), (200, "hello from GET"));
    server.stop().await;
}

#[tokio::test]
async fn twenty_event_streams_are_live_at_once_on_one_connection() {
    let server = start().await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let response = get(&mut h2, "/api/sse?every_ms=20").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        streams.push(response.into_body());
    }
    // Every stream delivers, twice, while all twenty are open (over HTTP/1.1 a browser would
    // have stalled after six).
    for round in 0..2 {
        for (i, body) in streams.iter_mut().enumerate() {
            let mut seen = String::new();
            while !seen.contains("data: Message @") {
                let frame = tokio::time::timeout(WAIT, body.frame())
                    .await
                    .unwrap_or_else(|_| panic!("stream {i}, round {round}: no event in time"))
                    .expect("the stream is open")
                    .expect("a frame");
                if let Ok(data) = frame.into_data() {
                    seen.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
        }
    }
    drop(streams);
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_over_an_http2_stream_runs_the_chat_hooks() {
    let server = start().await;
    let addr = server.addr.to_string();
    let mut h2 = h2c(&addr).await;
    let (status, socket) = websocket(&mut h2, "/ws/chat", None).await;
    assert_eq!(status, 200);
    let mut over_h2 = socket.expect("the socket");
    let welcome = json_over(&mut over_h2).await;
    assert!(
        welcome["message"].as_str().unwrap().starts_with("Welcome "),
        "{welcome}"
    );

    // A peer over HTTP/1.1 joins the same room.
    let (mut over_h1, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/chat"))
        .await
        .expect("connect over HTTP/1.1");
    json(&mut over_h1).await; // its welcome
    let joined = json_over(&mut over_h2).await;
    assert!(
        joined["message"].as_str().unwrap().ends_with(" joined!"),
        "{joined}"
    );

    // Both ways, then a close from the HTTP/2 side, which the other peer hears about.
    over_h2.send(Message::text("hello from h2")).await.unwrap();
    let echo = json_over(&mut over_h2).await;
    assert_eq!(echo["message"], "hello from h2");
    let heard = json(&mut over_h1).await;
    assert_eq!(heard["message"], "hello from h2");
    over_h1.send(Message::text("hello from h1")).await.unwrap();
    json(&mut over_h1).await; // its echo
    assert_eq!(json_over(&mut over_h2).await["message"], "hello from h1");
    // Several sockets share the one connection.
    let (_, second) = websocket(&mut h2, "/ws/chat", None).await;
    let mut second = second.expect("a second socket on the connection");
    json_over(&mut second).await; // its welcome
    assert!(
        json_over(&mut over_h2).await["message"]
            .as_str()
            .unwrap()
            .ends_with(" joined!")
    );
    json(&mut over_h1).await; // the same news

    over_h2.close(None).await.unwrap();
    let left = json(&mut over_h1).await;
    assert!(
        left["message"].as_str().unwrap().ends_with(" left!"),
        "{left}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_over_http2_keeps_the_origin_check() {
    let server = start().await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    // HTTP/2 names the host in `:authority` (here `localhost`): a page of that host may connect,
    // another site's may not.
    let (status, socket) = websocket(&mut h2, "/ws/chat", Some("http://localhost")).await;
    assert_eq!(status, 200);
    drop(socket);
    let (status, _) = websocket(&mut h2, "/ws/chat", Some("http://evil.test")).await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[tokio::test]
async fn https_speaks_http2_or_http11_as_alpn_chooses() {
    let (server, ca) = start_tls().await;
    let addr = server.addr.to_string();

    let connector = tls_connector(&ca, &[b"h2", b"http/1.1"]);
    let (stream, alpn) = tls(&connector, &addr).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let mut h2 = h2::handshake(stream).await;
    let response = get(&mut h2, "/api/hello").await;
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(h2::text(response).await, "hello from GET");
    let (status, socket) = websocket(&mut h2, "/ws/chat", None).await;
    assert_eq!(status, 200);
    let welcome = json_over(&mut socket.expect("the socket")).await;
    assert!(welcome["message"].as_str().unwrap().starts_with("Welcome "));

    // A client that offers only HTTP/1.1 gets it.
    let connector = tls_connector(&ca, &[b"http/1.1"]);
    let (stream, alpn) = tls(&connector, &addr).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (mut http1, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/api/hello")
        .header("host", "localhost")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = http1.send_request(request).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(h2::text(response).await, "hello from GET");

    // Plain HTTP on the TLS port gets a TLS alert, not the route.
    let mut plain = tokio::net::TcpStream::connect(&addr).await.unwrap();
    plain
        .write_all(b"GET /api/hello HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, plain.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    assert_eq!(answer.first(), Some(&21), "not a TLS alert: {answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn certificate_files_that_do_not_fit_are_refused_in_words() {
    let dir = std::env::temp_dir().join(format!("nitrous-badtls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir, "server");
    let error = nitrous::Tls::from_pem_files(dir.join("server.crt"), dir.join("ca.key"))
        .expect_err("a key of another certificate");
    assert!(
        error
            .to_string()
            .contains("do not make a TLS configuration"),
        "{error}"
    );
    let error = nitrous::Tls::from_pem_files(dir.join("server.key"), dir.join("server.key"))
        .expect_err("a key where the certificate should be");
    assert!(error.to_string().contains("no certificate"), "{error}");
    let error = nitrous::Tls::from_pem_files(dir.join("missing.crt"), dir.join("server.key"))
        .expect_err("no such file");
    assert!(error.to_string().contains("missing.crt"), "{error}");
}

#[tokio::test]
async fn cleartext_http2_can_be_switched_off() {
    let server = Server::start_with(router().with_state(AppState::default()), |serve| {
        serve.h2c(false)
    })
    .await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    let request = hyper::Request::get("http://localhost/api/hello")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let outcome = tokio::time::timeout(WAIT, async {
        h2.ready().await?;
        h2.send_request(request).await
    })
    .await
    .expect("an answer or an error in time");
    assert!(outcome.is_err(), "HTTP/2 was served: {outcome:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_shutdown_ends_an_http2_connection_with_goaway() {
    let server = start().await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    let mut stream = get(&mut h2, "/api/sse?every_ms=20").await.into_body();
    tokio::time::timeout(WAIT, stream.frame())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("the server stops within its grace period");
    // The event stream ended with the server, and the connection takes no more requests.
    let rest = tokio::time::timeout(WAIT, async {
        while let Some(Ok(_)) = stream.frame().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream did not end");
    let ready = tokio::time::timeout(WAIT, h2.ready())
        .await
        .expect("an answer in time");
    assert!(ready.is_err(), "the connection still takes requests");
}

#[tokio::test]
async fn a_websocket_over_http2_keeps_its_limits_heartbeat_and_upgrade_hook() {
    let server = start().await;
    let mut h2 = h2c(&server.addr.to_string()).await;
    // The `upgrade` hook refuses as over HTTP/1.1.
    let (status, _) = websocket(&mut h2, "/ws/probe", None).await;
    assert_eq!(status, 401);
    let (status, socket) = websocket(&mut h2, "/ws/probe?name=h2", None).await;
    assert_eq!(status, 200);
    let mut socket = socket.expect("the socket");
    let hello = tokio::time::timeout(WAIT, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(hello, Message::text("hello h2"));
    // The route's heartbeat pings this peer (every 200 ms): the client library answers.
    let ping = tokio::time::timeout(WAIT, async {
        loop {
            if let Message::Ping(_) = socket.next().await.unwrap().unwrap() {
                return;
            }
        }
    })
    .await;
    assert!(ping.is_ok(), "no heartbeat ping over HTTP/2");
    // Its message limit (1 KiB) closes with 1009, as over HTTP/1.1.
    socket.send(Message::text("x".repeat(2048))).await.unwrap();
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame in time");
    assert_eq!(close, Some(1009));
    // The connection serves on.
    let response = get(&mut h2, "/api/hello").await;
    assert_eq!(h2::text(response).await, "hello from GET");
    server.stop().await;
}

#[tokio::test]
async fn the_shutdown_says_goaway_without_an_error() {
    let server = start().await;
    let mut raw = support::h2_raw::Raw::open(&server.addr.to_string(), &[]).await;
    let stopping = tokio::spawn(server.stop());
    // GOAWAY with NO_ERROR (hyper sends one, pings, and sends the last once the ping is
    // answered), then the end of the connection.
    use support::h2_raw::{ACK, GOAWAY, PING, frame};
    let mut goaways = Vec::new();
    while let Some(received) = raw.next().await {
        match received.kind {
            GOAWAY => goaways.push(u32::from_be_bytes(
                received.payload[4..8].try_into().unwrap(),
            )),
            PING if received.flags & ACK == 0 => {
                let _ = raw.send(&frame(PING, ACK, 0, &received.payload)).await;
            }
            _ => {}
        }
    }
    assert!(!goaways.is_empty(), "no GOAWAY");
    assert!(goaways.iter().all(|code| *code == 0), "{goaways:?}");
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("the server stops within its grace period")
        .unwrap();
}
