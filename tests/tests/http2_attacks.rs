//! HTTP/2's own attacks against a real server (the fixture server in a process of its own, so
//! its memory is its alone): rapid reset (CVE-2023-44487), a CONTINUATION flood, floods of
//! SETTINGS and PINGs that never read their acknowledgements (cut by the write timeout), and a stream that never opens its
//! flow-control window. Each ends in a bounded outcome, and other clients are served throughout.
//! Frames are written by hand (`support::h2_raw`); every loop is bounded.

mod support;

use std::time::Duration;

use nitrous_support::{Process, rss_kib};
use support::fixture::{fixture_command, fixture_server};
use support::h2::{self, get, h2c};
use support::h2_raw::{
    ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, HEADERS, INITIAL_WINDOW_SIZE, PING,
    RST_STREAM, Raw, SETTINGS, WINDOW_UPDATE, frame, literal,
};

/// HTTP/2's `ENHANCE_YOUR_CALM` error code.
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// How much the server's memory may grow under one attack.
const GROWTH_KIB: u64 = 32 << 10;

fn server() -> (Process, String) {
    let mut command = fixture_command();
    command.env("NITROUS_WRITE_TIMEOUT_MS", "1000");
    fixture_server(command)
}

/// Another client, on a connection of its own, gets its answer.
async fn others_are_served(addr: &str) {
    let mut h2 = h2c(addr).await;
    let response = tokio::time::timeout(Duration::from_secs(10), get(&mut h2, "/api/hello"))
        .await
        .expect("another client is answered in time");
    assert_eq!(h2::text(response).await, "hello from GET");
    let (status, _) = support::get(&format!("http://{addr}/api/hello")).await;
    assert_eq!(status, 200, "an HTTP/1.1 client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_gets_goaway() {
    let (server, addr) = server();
    let before = rss_kib(server.pid()).unwrap();
    let mut raw = Raw::open(&addr, &[]).await;
    let block = support::h2_raw::get("/api/hello");
    // Requests cancelled as soon as they are sent, 100 to a write, up to 20,000.
    let mut sent = 0;
    'attack: for batch in 0..200u32 {
        let mut bytes = Vec::new();
        for i in 0..100 {
            let stream = 2 * (batch * 100 + i) + 1;
            bytes.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream, &block));
            bytes.extend(frame(RST_STREAM, 0, stream, &0x8u32.to_be_bytes())); // CANCEL
        }
        if raw.send(&bytes).await.is_err() {
            break 'attack;
        }
        sent += 100;
    }
    let code = raw.until_goaway().await;
    assert_eq!(
        code,
        Some(ENHANCE_YOUR_CALM),
        "after {sent} cancelled requests"
    );
    assert!(raw.next().await.is_none() || raw.until_goaway().await.is_none());
    others_are_served(&addr).await;
    let grown = rss_kib(server.pid()).unwrap().saturating_sub(before);
    eprintln!("rapid reset: {sent} requests sent, GOAWAY, {grown} KiB more");
    assert!(grown < GROWTH_KIB, "{grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_flood_is_cut_off() {
    let (server, addr) = server();
    let before = rss_kib(server.pid()).unwrap();
    let mut raw = Raw::open(&addr, &[]).await;
    raw.send(&frame(
        HEADERS,
        END_STREAM,
        1,
        &support::h2_raw::get("/api/hello"),
    ))
    .await
    .unwrap();
    // CONTINUATION frames that never end the header block: 16 KB of headers each, 64 MB in all.
    let mut block = Vec::new();
    while block.len() < 16_000 {
        literal("x-flood", &"a".repeat(100), &mut block);
    }
    let continuation = frame(CONTINUATION, 0, 1, &block);
    let mut frames = 0;
    for _ in 0..4_000 {
        if raw.send(&continuation).await.is_err() {
            break;
        }
        frames += 1;
    }
    assert!(frames < 4_000, "the server read all {frames} frames");
    let code = raw.until_goaway().await;
    eprintln!("CONTINUATION flood: {frames} frames sent, GOAWAY {code:?}");
    assert!(raw.next().await.is_none(), "the connection stays open");
    others_are_served(&addr).await;
    let grown = rss_kib(server.pid()).unwrap().saturating_sub(before);
    assert!(grown < GROWTH_KIB, "{grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_ping_floods_that_never_read_are_bounded() {
    let (server, addr) = server();
    let before = rss_kib(server.pid()).unwrap();
    let raw = Raw::open(&addr, &[]).await;
    let mut stream = raw.stream;
    // Up to 800,000 SETTINGS and 800,000 PINGs, each asking for an acknowledgement that is never
    // read: the acknowledgements fill the socket, the server stops reading, and its write timeout
    // (1 s here) closes the connection.
    let flood = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut chunk = Vec::new();
        for i in 0..1_000u64 {
            chunk.extend(frame(SETTINGS, 0, 0, &[]));
            chunk.extend(frame(PING, 0, 0, &i.to_be_bytes()));
        }
        let mut written = 0;
        for _ in 0..800 {
            if stream.write_all(&chunk).await.is_err() {
                return (written, true);
            }
            written += 2_000;
        }
        (written, false)
    });
    // Meanwhile, others are served.
    others_are_served(&addr).await;
    let (written, cut) = tokio::time::timeout(Duration::from_secs(30), flood)
        .await
        .expect("the flood ends: read whole, or cut off")
        .unwrap();
    let grown = rss_kib(server.pid()).unwrap().saturating_sub(before);
    eprintln!(
        "SETTINGS and PING flood: {written} frames written, cut off: {cut}, {grown} KiB more"
    );
    assert!(cut, "the connection was not closed");
    assert!(grown < GROWTH_KIB, "{grown} KiB");
    others_are_served(&addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_never_opens_its_window_holds_only_itself() {
    let (_server, addr) = server();
    // No stream may be sent anything until the client opens its window.
    let mut raw = Raw::open(&addr, &[(INITIAL_WINDOW_SIZE, 0)]).await;
    raw.send(&frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &support::h2_raw::get("/api/sse?every_ms=1"),
    ))
    .await
    .unwrap();
    // Another stream on the same connection, whose window is opened.
    raw.send(&frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        3,
        &support::h2_raw::get("/api/hello"),
    ))
    .await
    .unwrap();
    raw.send(&frame(WINDOW_UPDATE, 0, 3, &65_535u32.to_be_bytes()))
        .await
        .unwrap();
    raw.send(&frame(PING, 0, 0, b"stillok!")).await.unwrap();
    let mut answered = String::new();
    let mut pong = false;
    let mut headers_of_stream_1 = false;
    // The event stream's head comes (it needs no window), and nothing more on it.
    while !(answered == "hello from GET" && pong && headers_of_stream_1) {
        let frame = raw.next().await.expect("the connection stays open");
        match (frame.kind, frame.stream) {
            (DATA, 3) => answered.push_str(std::str::from_utf8(&frame.payload).unwrap()),
            (DATA, 1) => assert!(frame.payload.is_empty(), "data past a closed window"),
            (HEADERS, 1) => headers_of_stream_1 = true,
            (PING, 0) if frame.flags & ACK != 0 => pong = frame.payload == b"stillok!",
            _ => {}
        }
    }
    others_are_served(&addr).await;
}
