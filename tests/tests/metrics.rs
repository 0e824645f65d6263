//! `nitrous::telemetry` through a recording exporter (a `metrics` recorder installed for this
//! test binary alone): a scripted session against a real server yields exactly the expected
//! counters and gauges. Peers are connected one after another, so every count is known.

mod support;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use nitrous_tests::recording::{Installed, Recording};
use nitrous_tests::{AppState, router};
use support::Server;
use support::raw;
use support::sse;
use support::ws::{WAIT, text};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn probe(addr: &str, name: &str) -> support::ws::Client {
    let (mut client, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/probe?name={name}"))
            .await
            .expect("connect");
    assert_eq!(text(&mut client).await, format!("hello {name}"));
    client
}

/// Reads until the server closes the connection; returns the close code it sent, if any.
async fn closed(client: &mut support::ws::Client) -> Option<u16> {
    let mut code = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, client.next()).await {
        if let Message::Close(frame) = message {
            code = frame.map(|f| u16::from(f.code));
        }
    }
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_session_yields_exactly_the_expected_metrics() {
    let recording = Arc::new(Recording::default());
    metrics::set_global_recorder(Installed(recording.clone())).expect("the only recorder");
    let state = AppState::default();
    let events = state.events.clone();
    let hub = nitrous::Hub::new();
    hub.retain("news", 3);
    let server = Server::start(router().layer(hub.layer()).with_state(state)).await;
    let addr = server.addr.to_string();

    // A peer that talks: four messages in, a greeting and three answers out, and a message of a
    // topic it subscribed to.
    let mut talker = probe(&addr, "a").await;
    talker.send(Message::text("peers")).await.unwrap();
    assert_eq!(text(&mut talker).await, "1");
    talker.send(Message::text("kind")).await.unwrap();
    assert_eq!(text(&mut talker).await, "text");
    assert_eq!(recording.gauge("nitrous_websocket_peers{}"), 1.0);
    talker.send(Message::text("sub t")).await.unwrap();
    talker.send(Message::text("topics")).await.unwrap();
    assert_eq!(text(&mut talker).await, "t");
    // Another peer publishes to the topic: one publish, one delivery.
    let mut publisher = probe(&addr, "b").await;
    publisher.send(Message::text("pub t x")).await.unwrap();
    assert_eq!(text(&mut talker).await, "x");
    publisher.close(None).await.unwrap();
    closed(&mut publisher).await;
    events.wait_for("close b ").await;
    talker.close(None).await.unwrap();
    closed(&mut talker).await;
    events.wait_for("close a ").await;

    // Refused: by the `upgrade` hook (no name), and by the origin check.
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/probe")).await;
    assert!(refused.is_err());
    let mut foreign = format!("ws://{addr}/ws/chat")
        .into_client_request()
        .unwrap();
    foreign
        .headers_mut()
        .insert("origin", "http://evil.test".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(foreign).await.is_err());

    // A hook that panics: the peer is closed with 1011.
    let mut panicking = probe(&addr, "d").await;
    panicking.send(Message::text("panic")).await.unwrap();
    assert_eq!(closed(&mut panicking).await, Some(1011));
    events.wait_for("close d 1011 internal error").await;

    // A slow consumer by construction: more queued than `max_buffered` at once.
    let mut flooded = probe(&addr, "e").await;
    flooded.send(Message::text("flood")).await.unwrap();
    assert_eq!(closed(&mut flooded).await, Some(1008));
    events.wait_for("close e 1008").await;

    // A peer that never answers the route's pings (200 ms, 200 ms to answer) is cut.
    let (mut silent, _) = raw::open(&addr, "/ws/probe?name=s").await;
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, silent.read_to_end(&mut rest))
        .await
        .expect("cut in time")
        .ok();
    events.wait_for("close s 1006 heartbeat timeout").await;

    // An event stream, open then gone.
    let response = reqwest::get(server.url("/api/sse?every_ms=10"))
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    body.next().await.expect("an event").unwrap();
    assert_eq!(recording.gauge("nitrous_event_streams{}"), 1.0);
    drop(body);
    events.wait_for("clock closed").await;

    // A retained topic: five publishes reach a stream; one that resumes after the first is told
    // of a gap and replayed the three the topic keeps.
    let news = |last: Option<String>| {
        let mut request = reqwest::Client::new().get(server.url("/api/sse/news"));
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        async move { sse::events(request.send().await.unwrap()) }
    };
    let mut reader = news(None).await;
    support::wait::until("the news subscription", WAIT, || {
        hub.subscriber_count("news") == 1
    })
    .await;
    for n in 1..=5 {
        assert_eq!(hub.publish("news", format!("n{n}")).unwrap(), 1);
    }
    let mut ids = Vec::new();
    for _ in 1..=5 {
        ids.push(sse::next_event(&mut reader).await.id);
    }
    let mut resumed = news(Some(ids[0].clone())).await;
    assert_eq!(
        sse::next_event(&mut resumed).await.event,
        nitrous::sse::REPLAY_GAP_EVENT
    );
    for n in 3..=5 {
        assert_eq!(sse::next_event(&mut resumed).await.data, format!("n{n}"));
    }
    drop((reader, resumed));
    support::wait::until("the event streams gauge", WAIT, || {
        recording.gauge("nitrous_event_streams{}") == 0.0
    })
    .await;

    // An HTTP/2 connection, counted by its protocol while it is open.
    let mut h2 = support::h2::h2c(&addr).await;
    let response = support::h2::get(&mut h2, "/api/hello").await;
    assert_eq!(support::h2::text(response).await, "hello from GET");
    assert_eq!(
        recording.gauge("nitrous_connections{protocol=h2,tls=false}"),
        1.0
    );
    drop(h2);
    support::wait::until("the HTTP/2 connection's end", WAIT, || {
        recording.gauge("nitrous_connections{protocol=h2,tls=false}") == 0.0
    })
    .await;

    support::wait::until("the connections gauge", WAIT, || {
        recording.gauge("nitrous_connections{protocol=http/1.1,tls=false}") == 0.0
    })
    .await;
    let counter = |name: &str| recording.counter(name);
    let expected: &[(&str, u64)] = &[
        ("nitrous_websocket_upgrades_total{outcome=accepted}", 5),
        ("nitrous_websocket_upgrades_total{outcome=refused}", 1),
        ("nitrous_websocket_upgrades_total{outcome=origin}", 1),
        ("nitrous_hook_panics_total{hook=message}", 1),
        ("nitrous_websocket_slow_consumers_total{}", 1),
        ("nitrous_websocket_heartbeat_timeouts_total{}", 1),
        // peers, kind, sub t, topics, pub t x, panic, flood
        ("nitrous_websocket_messages_received_total{}", 7),
        (
            "nitrous_websocket_bytes_received_total{}",
            5 + 4 + 5 + 6 + 7 + 5 + 5,
        ),
        // hello a, 1, text, t, hello b, x, hello d, hello e, hello s (the flood was dropped with
        // the peer)
        ("nitrous_websocket_messages_sent_total{}", 9),
        (
            "nitrous_websocket_bytes_sent_total{}",
            7 + 1 + 4 + 1 + 7 + 1 + 7 + 7 + 7,
        ),
        // pub t x, and n1 to n5
        ("nitrous_publishes_total{}", 6),
        ("nitrous_deliveries_total{}", 6),
        ("nitrous_replayed_total{}", 3),
        ("nitrous_gaps_total{}", 1),
    ];
    let mut wrong = Vec::new();
    for (name, value) in expected {
        if counter(name) != *value {
            wrong.push(format!("{name} = {}, expected {value}", counter(name)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{wrong:#?}\nall: {:#?}",
        recording.names()
    );
    assert_eq!(recording.gauge("nitrous_websocket_peers{}"), 0.0);
    assert_eq!(recording.gauge("nitrous_event_streams{}"), 0.0);
    server.stop().await;
}
