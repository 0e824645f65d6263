//! A connection's buffers after large messages: a partial frame is held only until it is whole,
//! and a write buffer grown for a large message is given back once the connection is quiet
//! (tungstenite's reader kept both at their largest for the connection's life). Memory is
//! read from the fixture server in a process of its own; the frames around a buffer being given
//! back (pipelined behind a large message, a ping, a fragmented message) are written by hand.

mod support;

use std::time::Duration;

use nitrous_support::rss_kib;
use support::fixture::{fixture_command, fixture_server};
use support::raw::{self, PING, TEXT, frame, parse_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const PONG: u8 = 0xa;
const LARGE: usize = 64 << 10;

/// Reads frames from `stream` until `count` have come; bounded in time.
async fn frames(
    stream: &mut TcpStream,
    received: &mut Vec<u8>,
    count: usize,
) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while out.len() < count {
            if let Some((opcode, payload, used)) = parse_frame(received) {
                received.drain(..used);
                out.push((opcode, payload));
                continue;
            }
            let mut chunk = [0u8; 16 << 10];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed after {out:?}");
            received.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{count} frames did not come; got {} of them", out.len()));
    out
}

/// One masked frame without FIN.
fn first_fragment(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame(opcode, payload);
    bytes[0] &= 0x7f;
    bytes
}

fn payload(seed: usize) -> Vec<u8> {
    (0..LARGE).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_echoed_a_large_message_keep_no_large_buffers() {
    // 150 connections per route; tungstenite's reader would keep about 130 KiB each (a read buffer
    // and a write buffer of 64 KiB), about 39 MiB in all.
    const EACH: usize = 150;
    let (server, addr) = fixture_server(fixture_command());
    // Everything a connection costs without a large message, so the difference is the buffers.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(raw::open(&addr, "/ws/echo").await.0);
    }
    let before = rss_kib(server.pid()).unwrap();
    let mut kept = Vec::new();
    // One at a time, as a user's clients would send now and then: what a connection gives back
    // is there for the next one.
    for path in ["/ws/echo", "/ws/echo_copies"] {
        for i in 0..EACH {
            let (mut stream, start) = raw::open(&addr, path).await;
            let mut received = start;
            let sent = payload(i);
            stream.write_all(&frame(BINARY, &sent)).await.unwrap();
            let echoed = frames(&mut stream, &mut received, 1).await;
            assert!(echoed[0] == (BINARY, sent), "{path}: the echo differs");
            kept.push(stream);
        }
    }
    let after = rss_kib(server.pid()).unwrap();
    let per_connection = (after.saturating_sub(before)) as f64 / (2 * EACH) as f64;
    eprintln!(
        "{} connections that echoed 64 KiB: {per_connection:.1} KiB each",
        2 * EACH
    );
    // Each keeps its idle cost (about 4 KiB) and the allocator's slack; the last few may not
    // have given theirs back yet when RSS is read, which the bound leaves room for.
    assert!(
        per_connection < 24.0,
        "{per_connection:.1} KiB per connection after one 64 KiB echo: the grown buffers stayed"
    );
    drop((idle, kept));
}

#[tokio::test]
async fn frames_pipelined_behind_a_large_message_all_arrive_in_order() {
    let (_server, addr) = fixture_server(fixture_command());
    let (mut stream, mut received) = raw::open(&addr, "/ws/echo").await;
    for round in 0..20 {
        // A large message, a ping and a small message in one write: the server may find itself
        // quiet (and give its buffers back) anywhere between them.
        let sent = payload(round);
        let mut burst = frame(BINARY, &sent);
        burst.extend(frame(PING, b"p"));
        burst.extend(frame(TEXT, format!("after {round}").as_bytes()));
        burst.extend(frame(BINARY, &sent[..LARGE / 2]));
        stream.write_all(&burst).await.unwrap();
        let got = frames(&mut stream, &mut received, 4).await;
        assert!(
            got[0] == (BINARY, sent.clone()),
            "round {round}: the large echo differs"
        );
        assert_eq!(got[1], (PONG, b"p".to_vec()), "round {round}");
        assert_eq!(got[2], (TEXT, format!("after {round}").into_bytes()));
        assert!(
            got[3] == (BINARY, sent[..LARGE / 2].to_vec()),
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_fragmented_message_survives_a_quiet_moment_between_its_frames() {
    let (_server, addr) = fixture_server(fixture_command());
    let (mut stream, mut received) = raw::open(&addr, "/ws/echo").await;
    // A large message first, so the buffers have grown and would be given back when quiet.
    let sent = payload(1);
    stream.write_all(&frame(BINARY, &sent)).await.unwrap();
    frames(&mut stream, &mut received, 1).await;

    let whole = payload(2);
    stream
        .write_all(&first_fragment(BINARY, &whole[..LARGE / 2]))
        .await
        .unwrap();
    // The pong says the server read the first fragment (and the ping after it) and went quiet.
    stream.write_all(&frame(PING, b"q")).await.unwrap();
    let pong = frames(&mut stream, &mut received, 1).await;
    assert_eq!(pong[0], (PONG, b"q".to_vec()));
    stream
        .write_all(&frame(CONTINUATION, &whole[LARGE / 2..]))
        .await
        .unwrap();
    let echoed = frames(&mut stream, &mut received, 1).await;
    assert!(
        echoed[0] == (BINARY, whole),
        "the fragmented message came back changed"
    );
}
