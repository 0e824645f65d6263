//! Clients that try to take the server down, over real sockets: floods, stalls, silence, huge
//! headers, malformed handshakes, a mass disconnect, hostile numbers. Raw frames are written by
//! hand where a client library would refuse to misbehave. Tests that wait on a timeout run in
//! paused time (`start_paused`), so they check the exact deadline without waiting for it; tests
//! that measure memory run the fixture server as a process of its own and read its
//! `/proc/PID/status`. Every loop is bounded.

mod support;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nitrous::Hub;
use nitrous_support::{Process, Signal, peak_rss_kib, rss_kib};
use nitrous_tests::{AppState, Events, router};
use support::Server;
use support::fixture::{fixture_command, fixture_server};
use support::raw::{self, PING, TEXT, exchange, frame, parse_frame, upgrade_request};
use support::ws::{Client, WAIT, json, say, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const MIB: u64 = 1 << 20;

async fn start() -> (Server, Arc<Events>) {
    let state = AppState::default();
    let events = state.events.clone();
    (Server::start(router().with_state(state)).await, events)
}

async fn connect(addr: &str, path: &str) -> Client {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .expect("connect")
        .0
}

/// Reads from a raw socket until the server closes it; returns what it sent.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The fixture server in a process of its own, so its memory is its alone.
fn own_server(configure: impl FnOnce(&mut Command)) -> (Process, String) {
    let mut command = fixture_command();
    configure(&mut command);
    fixture_server(command)
}

// 1. A ping flood.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_not_read_while_its_pongs_wait_and_other_peers_are_served() {
    let (server, addr) = own_server(|_| {});
    let mut echo = connect(&addr, "/ws/echo").await;
    say(&mut echo, "warm up").await;
    assert_eq!(text(&mut echo).await, "warm up");
    let before = rss_kib(server.pid()).unwrap();

    // Pings as fast as the socket takes them, never reading a pong: up to 128 MiB of them, or
    // until the server stops reading and the socket stays full (2 s without progress).
    const LIMIT: u64 = 128 * MIB;
    let (mut flooder, _) = raw::open(&addr, "/ws/echo").await;
    let written = Arc::new(AtomicU64::new(0));
    let progress = written.clone();
    let flood = tokio::spawn(async move {
        let pings = frame(PING, b"").repeat((64 << 10) / 6);
        while progress.load(Ordering::Relaxed) < LIMIT {
            let write = flooder.write_all(&pings);
            match tokio::time::timeout(Duration::from_secs(2), write).await {
                Ok(Ok(())) => progress.fetch_add(pings.len() as u64, Ordering::Relaxed),
                Ok(Err(_)) | Err(_) => break, // closed, or no longer read
            };
        }
        flooder
    });

    // Meanwhile another peer's echo comes back promptly.
    for n in 0..20 {
        say(&mut echo, &format!("still here {n}")).await;
        assert_eq!(text(&mut echo).await, format!("still here {n}"));
    }
    let flooder = flood.await.expect("flood task");
    let written = written.load(Ordering::Relaxed);
    let after = rss_kib(server.pid()).unwrap();
    assert!(
        written < LIMIT,
        "the server read all {written} bytes of pings while their pongs went unread"
    );
    let grown = after.saturating_sub(before);
    eprintln!(
        "ping flood: {} MiB written, RSS grew by {grown} KiB",
        written / MIB
    );
    assert!(
        grown < 16 << 10,
        "the server grew by {grown} KiB under a flood of {} MiB of pings",
        written / MIB
    );
    say(&mut echo, "after the flood").await;
    assert_eq!(text(&mut echo).await, "after the flood");
    drop(flooder);
}

// 2. One legal message, and a healthy reader behind a burst.

#[tokio::test]
async fn one_legal_message_reaches_every_subscriber_instead_of_emptying_the_room() {
    let (server, _) = start().await;
    let addr = server.addr.to_string();
    let mut room = Vec::new();
    for _ in 0..3 {
        let mut client = connect(&addr, "/ws/chat").await;
        json(&mut client).await; // welcome
        say(&mut client, "ping").await;
        while json(&mut client).await["message"] != "pong" {}
        room.push(client);
    }
    // 180,000 control characters: under the 1 MiB message limit, but JSON-escaped as `\u0001`
    // the chat's frame is six times as large (1.08 MB).
    let message = "\u{1}".repeat(180_000);
    say(&mut room[0], &message).await;
    for client in &mut room {
        let got = loop {
            let got = json(client).await;
            if got["message"]
                .as_str()
                .is_some_and(|m| m.len() == message.len())
            {
                break got;
            }
        };
        assert_eq!(got["message"], message.as_str());
    }
    // Nobody was closed: the room still talks.
    say(&mut room[1], "after").await;
    for client in &mut room {
        assert_eq!(json(client).await["message"], "after");
    }
    drop(room);
    server.stop().await;
}

#[tokio::test]
async fn a_message_larger_than_the_outbound_limit_fits_an_empty_queue() {
    let (server, events) = start().await;
    let mut client = connect(&server.addr.to_string(), "/ws/probe?name=big").await;
    assert_eq!(text(&mut client).await, "hello big");
    // The probe's outbound limit is 64 KiB; one message of 100,000 bytes still goes out whole.
    say(&mut client, "big 100000").await;
    assert_eq!(text(&mut client).await, "b".repeat(100_000));
    say(&mut client, "id").await;
    assert!(text(&mut client).await.starts_with("peer-"), "still open");
    assert!(
        events
            .all()
            .iter()
            .all(|e| !e.starts_with("big failed") && !e.starts_with("close")),
        "{:?}",
        events.all()
    );
    drop(client);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_reader_gets_every_large_message_while_a_stalled_one_is_closed() {
    let (server, addr) = own_server(|_| {});
    let before = rss_kib(server.pid()).unwrap();

    // The stalled peer joins and never reads again (its welcome names it).
    let (mut stalled, mut welcome) = raw::open(&addr, "/ws/chat").await;
    let stalled_name = loop {
        if let Some((TEXT, payload, _)) = parse_frame(&welcome) {
            let welcome: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            let text = welcome["message"].as_str().unwrap();
            break text
                .trim_start_matches("Welcome ")
                .trim_end_matches('!')
                .to_owned();
        }
        let mut chunk = [0u8; 1024];
        let n = stalled.read(&mut chunk).await.expect("the welcome");
        welcome.extend_from_slice(&chunk[..n]);
    };

    let healthy = connect(&addr, "/ws/chat").await;
    let (_healthy_sink, mut healthy) = healthy.split();
    let publisher = connect(&addr, "/ws/chat").await;
    let (mut publisher, mut echoes) = publisher.split();
    // The publisher reads its echoes as they come.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });

    const COUNT: usize = 400;
    let sending = tokio::spawn(async move {
        for n in 0..COUNT {
            let mut message = format!("{n:04}");
            message.push_str(&"x".repeat((1 << 20) - message.len())); // 1 MiB, the limit
            publisher
                .send(Message::text(message))
                .await
                .expect("publish");
        }
        publisher
    });
    let mut received = 0;
    let mut stalled_left = false;
    while received < COUNT || !stalled_left {
        let message = tokio::time::timeout(Duration::from_secs(60), healthy.next())
            .await
            .expect("the healthy reader keeps receiving")
            .expect("the healthy reader stays connected")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        let chat: serde_json::Value = serde_json::from_str(&text).unwrap();
        let said = chat["message"].as_str().unwrap();
        if said.len() == 1 << 20 {
            assert_eq!(
                &said[..4],
                format!("{received:04}"),
                "in order, none missing"
            );
            received += 1;
        } else if said == format!("{stalled_name} left!") {
            stalled_left = true;
        }
    }
    let peak = peak_rss_kib(server.pid()).unwrap();
    let _publisher = sending.await.expect("publisher");
    drain.abort();
    // The stalled peer was closed as a slow consumer (its close frame waits behind what it never
    // read, so the closing handshake times out and the connection is cut).
    let rest = tokio::time::timeout(Duration::from_secs(30), read_to_end(&mut stalled))
        .await
        .expect("the stalled peer's connection is cut");
    assert!(rest.len() < 64 * MIB as usize, "{} bytes", rest.len());
    // Three peers, each with at most the 16 MiB outbound limit queued (payloads shared between
    // the two subscribers), plus a 1 MiB message being read and written per connection.
    let grown = peak.saturating_sub(before);
    eprintln!("400 x 1 MiB through a stalled subscriber: the peak grew by {grown} KiB");
    assert!(
        grown < 96 << 10,
        "the server's peak grew by {grown} KiB for 400 MiB through a stalled subscriber"
    );
}

// 3. Slow and silent HTTP connections.

/// Runs `test` on a current-thread runtime in paused time, where a timeout fires as soon as
/// nothing else can happen, so a 30 s deadline is checked exactly and at once. A tokio timer
/// around an I/O wait would let the clock jump past what is measured, so the bound is kept
/// outside tokio: the test fails if it has not finished within 60 s of real time.
fn paused<F: Future<Output = ()> + Send + 'static>(test: F) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(test)));
        let _ = done.send(outcome);
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the test hung: not finished within 60 s of real time"),
    }
}

/// Reads until the server closes the connection, with no timer of the test's own running.
async fn until_closed(read: &mut (impl AsyncReadExt + Unpin)) {
    let mut sink = [0u8; 1024];
    while let Ok(1..) = read.read(&mut sink).await {}
}

fn around(expected: Duration) -> std::ops::RangeInclusive<Duration> {
    expected..=expected + Duration::from_millis(10)
}

#[test]
fn a_silent_connection_is_closed_at_the_header_timeout() {
    paused(async {
        let (server, _) = start().await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let opened = Instant::now();
        // Silent, but not half-closed: the write half stays.
        let (mut read, _write) = stream.into_split();
        until_closed(&mut read).await;
        let lived = opened.elapsed();
        assert!(
            around(nitrous::HEADER_TIMEOUT).contains(&lived),
            "a connection that sent nothing lived {lived:?}"
        );
        server.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_handed_over_despite_the_deferred_accept() {
    // `serve` accepts a connection once its client has sent something (TCP_DEFER_ACCEPT, on
    // Linux). One that never does must still be accepted when the kernel's deferral ends (about
    // a second), then closed at the header timeout, not held in the kernel's queue forever.
    let (_server, addr) = own_server(|command| {
        command.env("NITROUS_HEADER_TIMEOUT_MS", "1000");
    });
    // Answered: the accept loop runs, so the listener defers (a connection made before `serve`
    // sets the option, as the process prints its address, would be accepted at once).
    let (_, head) = exchange(&addr, b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(head.status, 200);
    let stream = TcpStream::connect(&addr).await.expect("connect");
    let opened = std::time::Instant::now();
    let (mut read, _write) = stream.into_split();
    tokio::time::timeout(Duration::from_secs(30), until_closed(&mut read))
        .await
        .expect("a silent connection is accepted and closed, not left in the kernel's queue");
    let lived = opened.elapsed();
    // The header timeout runs from the accept, which the client cannot see: a little slack.
    assert!(
        lived >= Duration::from_millis(900),
        "closed before its 1 s header timeout: {lived:?}"
    );
}

#[test]
fn a_slow_request_head_is_cut_at_the_header_timeout() {
    paused(async {
        let (server, _) = start().await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let opened = Instant::now();
        let (mut read, mut write) = stream.into_split();
        // One header byte every 5 s, for 25 s: never a whole head.
        for byte in b"GET /" {
            write.write_all(&[*byte]).await.expect("a byte");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        until_closed(&mut read).await;
        let lived = opened.elapsed();
        assert!(
            around(nitrous::HEADER_TIMEOUT).contains(&lived),
            "a connection sending a header byte every 5 s lived {lived:?}"
        );
        drop(write);
        server.stop().await;
    });
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    paused(async {
        let (server, _) = start().await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let head = raw::read_head(&mut stream).await;
        assert_eq!(head.status, 200);
        let answered = Instant::now();
        until_closed(&mut stream).await;
        let idle = answered.elapsed();
        assert!(
            around(nitrous::HEADER_TIMEOUT).contains(&idle),
            "an idle keep-alive connection lived {idle:?} after its response"
        );
        server.stop().await;
    });
}

#[test]
fn a_request_body_that_stops_arriving_fails_at_the_body_timeout() {
    paused(async {
        let (server, _) = start().await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // A head that promises 100 bytes, then 10 of them, then nothing.
        stream
            .write_all(
                b"POST /api/announce HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
            )
            .await
            .unwrap();
        let sent = Instant::now();
        let head = raw::read_head_within(&mut stream, 2 * nitrous::BODY_TIMEOUT).await;
        let waited = sent.elapsed();
        assert_eq!(head.status, 400, "{head:?}");
        assert!(
            around(nitrous::BODY_TIMEOUT).contains(&waited),
            "a stalled body was answered after {waited:?}"
        );
        until_closed(&mut stream).await;
        server.stop().await;
    });
}

#[test]
fn a_client_that_does_not_read_its_response_is_cut_at_the_write_timeout() {
    paused(async {
        let (server, _) = start().await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /api/big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let asked = Instant::now();
        // Not reading: the server fills the socket buffers on both ends and its write waits.
        // Only the server's timer can move the paused clock past this sleep's deadline.
        tokio::time::sleep(nitrous::WRITE_TIMEOUT + Duration::from_secs(1)).await;
        let received = read_to_end(&mut stream).await;
        assert!(asked.elapsed() >= nitrous::WRITE_TIMEOUT);
        assert!(
            received.len() < 32 << 20,
            "the whole 32 MiB body arrived: the stalled write was never cut"
        );
        assert!(
            received.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&received[..received.len().min(64)])
        );
        server.stop().await;
    });
}

#[tokio::test]
async fn a_request_head_over_the_limit_gets_431() {
    let (server, _) = start().await;
    let addr = server.addr.to_string();
    let request = |pad: usize| {
        format!(
            "GET /api/hello HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(pad)
        )
    };
    let (_, head) = exchange(&addr, request(60 << 10).as_bytes()).await;
    assert_eq!(head.status, 200, "60 KiB is under the 64 KiB default");
    let (_, head) = exchange(&addr, request(nitrous::MAX_HEADER_BYTES).as_bytes()).await;
    assert_eq!(head.status, 431, "{head:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_serving_when_silent_connections_use_up_its_file_descriptors() {
    // 128 descriptors for the server, 200 silent connections, a 1 s header timeout.
    let (server, addr) = own_server(|command| {
        let program = command.get_program().to_owned();
        let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
        *command = Command::new("prlimit");
        command
            .arg("--nofile=128:128")
            .arg(program)
            .args(args)
            .env("NITROUS_HEADER_TIMEOUT_MS", "1000");
    });
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // A real client, queued behind them, is still served once the silent ones time out.
    let answer = tokio::time::timeout(Duration::from_secs(30), async {
        let (_, head) = exchange(&addr, b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
        head.status
    })
    .await
    .expect("served within 30 s although silent connections took every descriptor");
    assert_eq!(answer, 200);
    drop((silent, server));
}

// 4. Shutdown with clients that do not cooperate.

#[test]
fn shutdown_ends_within_the_grace_period_whatever_the_clients_do() {
    paused(async {
        let (server, _) = start().await;
        let addr = server.addr.to_string();
        // A request that never ends, and a peer that never answers the close.
        let mut partial = TcpStream::connect(&addr).await.unwrap();
        partial
            .write_all(b"GET /api/hello HTTP/1.1\r\n")
            .await
            .unwrap();
        let (deaf, _) = raw::open(&addr, "/ws/echo").await;
        let started = Instant::now();
        server.stop().await;
        let took = started.elapsed();
        assert!(
            around(nitrous::SESSION_GRACE).contains(&took),
            "the shutdown took {took:?}; the partial request holds it to the grace period"
        );
        drop((partial, deaf));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_served_future_stops_the_server_and_its_connections() {
    // The accept loop runs as a task of its own: dropping what the app awaits must still stop it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = nitrous::serve(listener, router().with_state(AppState::default()));
    let task = tokio::spawn(async move { served.await });
    // A kept-alive connection, served once and idle.
    let (mut kept, head) = exchange(&addr, b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(head.status, 200);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // The end of the stream (or a reset: either way, closed) within the wait.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, kept.read_to_end(&mut rest))
        .await
        .expect("the kept-alive connection closes once the server is dropped");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "the listener is closed once the server is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_exits_on_sigterm_within_the_grace_period() {
    let (mut server, addr) = own_server(|command| {
        command.env("NITROUS_SHUTDOWN_GRACE_MS", "1000");
    });
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /api/hello HTTP/1.1\r\n")
        .await
        .unwrap();
    let (deaf, _) = raw::open(&addr, "/ws/echo").await;
    // The partial request is being read when the signal comes.
    let (_, head) = exchange(&addr, b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(head.status, 200);
    server.signal(Signal::Terminate).expect("SIGTERM");
    let exited = tokio::task::spawn_blocking(move || {
        let status = server.wait().expect("wait");
        (server, status)
    });
    let (_server, status) = tokio::time::timeout(Duration::from_secs(10), exited)
        .await
        .expect("the process exits within 10 s of SIGTERM, with a 1 s grace period")
        .unwrap();
    assert!(status.success(), "{status}");
    drop((partial, deaf));
}

// 5. The heartbeat.

#[test]
fn a_silent_peer_is_cut_at_interval_plus_timeout_with_a_close_frame() {
    paused(async {
        let (server, events) = start().await;
        // The probe pings every 200 ms and allows 200 ms more: a peer silent from its opening is
        // cut at 400 ms (not at the first ping after that). The client never reads, so its library
        // never answers a ping.
        let mut silent = connect(&server.addr.to_string(), "/ws/probe?name=silent").await;
        events.wait_for("close silent").await;
        let opened = events.at("open silent").expect("opened");
        let cut = events.at("close silent").expect("closed");
        assert!(
            around(Duration::from_millis(400)).contains(&(cut - opened)),
            "cut {:?} after opening",
            cut - opened
        );
        assert_eq!(
            events.wait_for("close silent").await,
            "close silent 1006 heartbeat timeout"
        );
        // What it was sent: its greeting, the ping, and a close frame before the cut.
        let mut frames = Vec::new();
        while let Some(Ok(message)) = silent.next().await {
            frames.push(message);
        }
        let Some(Message::Close(Some(farewell))) = frames.last() else {
            panic!("no close frame before the cut: {frames:?}");
        };
        assert_eq!(u16::from(farewell.code), 1011);
        assert_eq!(farewell.reason, "heartbeat timeout");
        assert!(
            frames.iter().any(|m| matches!(m, Message::Ping(_))),
            "{frames:?}"
        );
        server.stop().await;
    });
}

// 6. Upgrade headers.

#[tokio::test]
async fn an_upgrade_with_too_many_header_bytes_is_refused_with_431() {
    let (server, _) = start().await;
    let addr = server.addr.to_string();
    let pad = format!("X-Pad: {}", "p".repeat(4000));
    let lines = |count: usize| vec![pad.as_str(); count];
    // 10 × 4 KB: over the 32 KiB default.
    let (_, head) = exchange(&addr, &upgrade_request("/ws/chat", &lines(10))).await;
    assert_eq!(head.status, 431, "{head:?}");
    // 5 × 4 KB: under it.
    let (_, head) = exchange(&addr, &upgrade_request("/ws/chat", &lines(5))).await;
    assert_eq!(head.status, 101, "{head:?}");
    server.stop().await;
}

// 7. A mass disconnect.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_peers_vanishing_at_once_do_not_spike_memory() {
    const PEERS: usize = 10_000;
    let (server, addr) = own_server(|command| {
        let program = command.get_program().to_owned();
        let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
        *command = Command::new("prlimit");
        command.arg("--nofile=20000:20000").arg(program).args(args);
    });
    // One peer that stays and reads everything: it hears every departure.
    let witness = connect(&addr, "/ws/crowd").await;
    let (_witness_sink, mut witness) = witness.split();
    let greeting = witness.next().await.expect("open").expect("a frame");
    assert_eq!(greeting, Message::Text("in".into()));
    let mut crowd = Vec::with_capacity(PEERS);
    let opens = futures_util::stream::iter(0..PEERS)
        .map(|_| async {
            let (mut peer, mut greeting) = raw::open(&addr, "/ws/crowd").await;
            while greeting.len() < 4 {
                let mut byte = [0u8];
                if let Err(e) = peer.read_exact(&mut byte).await {
                    panic!("reading the greeting after {greeting:?}: {e}");
                }
                greeting.push(byte[0]);
            }
            assert_eq!(greeting, [0x81, 2, b'i', b'n']);
            peer
        })
        .buffer_unordered(64);
    tokio::pin!(opens);
    while let Some(peer) = opens.next().await {
        crowd.push(peer);
    }
    let connected = rss_kib(server.pid()).unwrap();
    drop(crowd); // every one of them vanishes, without a close frame

    let mut left = 0;
    while left < PEERS {
        let message = tokio::time::timeout(Duration::from_secs(60), witness.next())
            .await
            .expect("departures keep coming")
            .expect("the witness stays connected")
            .expect("a frame");
        if let Message::Text(text) = message {
            assert!(text.ends_with(" left"), "{text}");
            left += 1;
        }
    }
    let peak = peak_rss_kib(server.pid()).unwrap();
    eprintln!("{PEERS} peers: {connected} KiB connected, peak {peak} KiB after they vanished");
    assert!(
        peak * 2 <= connected * 3,
        "the peak ({peak} KiB) passed 1.5 × the connected RSS ({connected} KiB)"
    );
}

// 8. Handshakes.

#[tokio::test]
async fn malformed_handshakes_are_refused_with_the_status_rfc_6455_asks_for() {
    let (server, _) = start().await;
    let addr = server.addr.to_string();
    let refused = |extra: &'static [&'static str]| {
        let addr = addr.clone();
        async move { exchange(&addr, &upgrade_request("/ws/chat", extra)).await.1 }
    };
    for key in [
        &["Sec-WebSocket-Key: "][..],
        &["Sec-WebSocket-Key: abc"],
        &["Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="],
        &[
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ],
    ] {
        let head = refused(key).await;
        assert_eq!(head.status, 400, "{key:?}: {head:?}");
    }
    // A version other than 13: 426, saying which version the server speaks.
    let mut request = upgrade_request("/ws/chat", &[]);
    let at = request
        .windows(11)
        .position(|w| w == b"Version: 13")
        .unwrap();
    request.splice(at..at + 11, b"Version: 8".iter().copied());
    let (_, head) = exchange(&addr, &request).await;
    assert_eq!(head.status, 426, "{head:?}");
    assert_eq!(head.header("sec-websocket-version"), Some("13"));
    // An Origin that is not ASCII fails the origin check; it is never taken as absent.
    let mut request = upgrade_request("/ws/chat", &[]);
    request.truncate(request.len() - 2);
    request.extend_from_slice(b"Origin: http://\xff\xfe.test\r\n\r\n");
    let (_, head) = exchange(&addr, &request).await;
    assert_eq!(head.status, 403, "{head:?}");
    // Two Origins as well.
    let head = refused(&["Origin: http://127.0.0.1", "Origin: http://evil.test"]).await;
    assert_eq!(head.status, 403, "{head:?}");
    // And a good handshake still works.
    let mut client = connect(&addr, "/ws/echo").await;
    say(&mut client, "fine").await;
    assert_eq!(text(&mut client).await, "fine");
    drop(client);
    server.stop().await;
}

// 9. Numbers from clients.

#[tokio::test]
async fn a_last_event_id_of_u64_max_is_no_overflow() {
    let hub = Hub::new();
    hub.retain("news", 3);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    hub.publish("news", "n1").unwrap();
    let epoch = {
        // The topic's own offsets: a client that says nothing useful gets the history, and its
        // first event's id is `epoch-1`.
        let mut body = open_stream(&server, &hub, Some("junk")).await;
        let mut first = String::new();
        let id = loop {
            let chunk = tokio::time::timeout(WAIT, body.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            first.push_str(std::str::from_utf8(&chunk).unwrap());
            if let Some(id) = first.lines().find_map(|line| line.strip_prefix("id: ")) {
                break id.to_owned();
            }
        };
        drop(body);
        while hub.subscriber_count("news") > 0 {
            tokio::task::yield_now().await;
        }
        id.split_once('-').unwrap().0.to_owned()
    };
    let max = u64::MAX;
    for hostile in [
        format!("{epoch}-{max}"), // this topic's, ahead of everything: nothing to replay
        format!("{max}-{max}"),   // another history's: told of the gap
        format!("{max}0-0"),      // past u64: not an offset
        max.to_string(),          // not an offset
    ] {
        let mut body = open_stream(&server, &hub, Some(&hostile)).await;
        hub.publish("news", "live").unwrap();
        let mut received = String::new();
        while !received.contains("data: live") {
            let chunk = tokio::time::timeout(WAIT, body.next())
                .await
                .expect("an event within 5 s")
                .expect("the stream goes on")
                .expect("bytes");
            received.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        let gap = received.contains("event: nitrous-replay-gap");
        assert_eq!(
            gap,
            !hostile.starts_with(&format!("{epoch}-")),
            "{hostile}: {received}"
        );
        drop(body);
        while hub.subscriber_count("news") > 0 {
            tokio::task::yield_now().await;
        }
    }
    server.stop().await;
}

/// Opens the `news` event stream with `last` as its `Last-Event-ID` and waits until it is
/// subscribed.
async fn open_stream(
    server: &Server,
    hub: &Hub,
    last: Option<&str>,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + use<> {
    let mut request = reqwest::Client::new().get(server.url("/api/sse/news"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.expect("an answer");
    assert_eq!(response.status(), 200);
    tokio::time::timeout(WAIT, async {
        while hub.subscriber_count("news") == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the stream subscribed");
    Box::pin(response.bytes_stream())
}

/// The largest message a client may send, wrapped by the chat, reaches the other reader whole.
#[tokio::test]
async fn a_reader_is_not_cut_off_by_one_message_of_the_maximum_size() {
    let (server, _) = start().await;
    let addr = server.addr.to_string();
    let mut a = connect(&addr, "/ws/chat").await;
    json(&mut a).await;
    let mut b = connect(&addr, "/ws/chat").await;
    json(&mut b).await;
    say(&mut b, "ping").await;
    while json(&mut b).await["message"] != "pong" {}
    // The largest message a client may send (1 MiB), which the chat wraps in JSON.
    let message = "m".repeat(1 << 20);
    a.send(Message::text(message.clone())).await.unwrap();
    for client in [&mut a, &mut b] {
        let got = loop {
            let got = json(client).await;
            if got["message"]
                .as_str()
                .is_some_and(|m| m.len() == message.len())
            {
                break got;
            }
        };
        assert_eq!(got["message"], message.as_str());
    }
    drop((a, b));
    server.stop().await;
}
