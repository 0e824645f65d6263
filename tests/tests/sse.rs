//! Server-Sent Events over a real socket, read by a real HTTP client and parsed by an independent
//! SSE parser (`eventsource-stream`), not by nitrous.

mod support;

use std::time::Duration;

use eventsource_stream::{Event as Parsed, Eventsource};
use futures_util::{SinkExt, Stream, StreamExt};
use nitrous::Hub;
use nitrous_tests::{AppState, router};
use support::Server;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

async fn open(server: &Server, path: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    response
}

fn events(response: reqwest::Response) -> impl Stream<Item = Parsed> + Unpin {
    Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|event| event.expect("a well-formed event")),
    )
}

async fn next(events: &mut (impl Stream<Item = Parsed> + Unpin)) -> Parsed {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream goes on")
}

#[tokio::test]
async fn the_seed_clock_streams_events_and_notices_the_client_leaving() {
    let state = AppState::default();
    let log = state.events.clone();
    let server = Server::start(router().with_state(state)).await;
    let response = open(&server, "/api/sse?every_ms=20", None).await;
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    let mut events = events(response);
    for _ in 0..3 {
        let event = next(&mut events).await;
        assert_eq!(event.event, "message");
        assert!(event.data.starts_with("Message @ "), "{event:?}");
        assert_eq!(event.data.len(), "Message @ 12:34:56".len(), "{event:?}");
    }
    drop(events); // the client goes away
    assert_eq!(log.wait_for("clock closed").await, "clock closed");
    assert_eq!(log.wait_for("clock task ended").await, "clock task ended");
    server.stop().await;
}

#[tokio::test]
async fn framing_of_multi_line_data_ids_names_retry_json_and_comments() {
    let server = Server::start(router().with_state(AppState::default())).await;
    let raw = open(&server, "/api/sse/kinds", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(raw.contains("\n: a comment\n"), "a comment line: {raw:?}");
    assert!(!raw.contains("too late"), "nothing after close: {raw:?}");
    let parsed: Vec<Parsed> = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(raw)])
        .eventsource()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(parsed.len(), 4, "{parsed:?}");
    assert_eq!(parsed[0].data, "first line\nsecond line\nthird line");
    assert_eq!(
        (
            parsed[1].id.as_str(),
            parsed[1].event.as_str(),
            parsed[1].data.as_str()
        ),
        ("7", "update", "named")
    );
    assert_eq!(parsed[1].retry, Some(Duration::from_millis(2500)));
    let json: serde_json::Value = serde_json::from_str(&parsed[2].data).unwrap();
    assert_eq!(json, serde_json::json!({ "n": 1, "s": "x" }));
    assert_eq!(
        parsed[3].event, "a event: b",
        "a line break cannot inject a field"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_function_may_return_any_stream_of_events() {
    let server = Server::start(router().with_state(AppState::default())).await;
    let response = open(&server, "/api/sse/counted", None).await;
    let all: Vec<Parsed> = events(response).collect().await;
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.id.as_str(), e.data.as_str()))
        .collect();
    assert_eq!(
        got,
        [("1", "1"), ("2", "2"), ("3", "3")],
        "and then the response ends"
    );
    server.stop().await;
}

#[tokio::test]
async fn topic_messages_from_a_websocket_peer_and_the_server_reach_sse_clients() {
    let server = Server::start(router().with_state(AppState::default())).await;
    let mut sse = events(open(&server, "/api/sse/chat", None).await);
    let (mut peer, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", server.addr))
        .await
        .unwrap();
    let joined = next(&mut sse).await; // the peer's open hook publishes "joined"
    assert!(joined.data.contains("joined!"), "{joined:?}");
    peer.send(Message::text("hello from a socket"))
        .await
        .unwrap();
    let said: serde_json::Value = serde_json::from_str(&next(&mut sse).await.data).unwrap();
    assert_eq!(said["message"], "hello from a socket");
    let reply = reqwest::Client::new()
        .post(server.url("/api/announce"))
        .body("from the server")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reply.text().await.unwrap(),
        "reached 2",
        "the peer and the event stream"
    );
    let announced: serde_json::Value = serde_json::from_str(&next(&mut sse).await.data).unwrap();
    assert_eq!(announced["message"], "from the server");
    drop((peer, sse)); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_resumes_from_the_history_and_too_old_is_told() {
    let hub = Hub::new();
    hub.retain("news", 3);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    // A client from the start learns the offsets, as a browser does from the ids.
    let mut first = events(open(&server, "/api/sse/news", None).await);
    wait_for_subscribers(&hub, "news", 1).await;
    for n in 1..=5 {
        hub.publish("news", format!("n{n}")).unwrap(); // the history keeps n3, n4, n5
    }
    let mut ids = Vec::new();
    for n in 1..=5 {
        let event = next(&mut first).await;
        assert_eq!(event.data, format!("n{n}"));
        ids.push(event.id);
    }
    assert!(
        ids.iter().all(|id| nitrous::Offset::parse(id).is_some()),
        "{ids:?}"
    );

    let mut resumed = events(open(&server, "/api/sse/news", Some(&ids[2])).await);
    let replayed: Vec<(String, String)> = [next(&mut resumed).await, next(&mut resumed).await]
        .into_iter()
        .map(|e| (e.id, e.data))
        .collect();
    assert_eq!(
        replayed,
        [(ids[3].clone(), "n4".into()), (ids[4].clone(), "n5".into())]
    );

    // A browser's first connection cannot set the header: the query parameter does the same.
    let path = format!("/api/sse/news?lastEventID={}", ids[3]);
    let mut by_query = events(open(&server, &path, None).await);
    assert_eq!(next(&mut by_query).await.data, "n5");

    let mut behind = events(open(&server, "/api/sse/news", Some(&ids[0])).await);
    let gap = next(&mut behind).await;
    assert_eq!(gap.event, nitrous::sse::REPLAY_GAP_EVENT);
    let gap: serde_json::Value = serde_json::from_str(&gap.data).unwrap();
    assert_eq!(
        gap,
        serde_json::json!({ "topic": "news", "after": ids[0], "resumed_at": ids[2] })
    );
    for n in 3..=5 {
        assert_eq!(next(&mut behind).await.data, format!("n{n}"));
    }
    // Live events go on, once each, with the next offsets.
    wait_for_subscribers(&hub, "news", 4).await;
    assert_eq!(hub.publish("news", "n6").unwrap(), 4);
    let live = next(&mut resumed).await;
    assert_eq!(live.data, "n6");
    assert!(nitrous::Offset::parse(&live.id) > nitrous::Offset::parse(&ids[4]));
    assert_eq!(next(&mut behind).await.data, "n6");
    assert_eq!(next(&mut by_query).await.data, "n6");
    server.stop().await;

    // The process restarts: its history is gone, and a client with an id from before is told
    // so, never given other messages under the same ids.
    let hub = Hub::new();
    hub.retain("news", 3);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    hub.publish("news", "after the restart").unwrap();
    let mut returning = events(open(&server, "/api/sse/news", Some(&ids[4])).await);
    let gap = next(&mut returning).await;
    assert_eq!(gap.event, nitrous::sse::REPLAY_GAP_EVENT);
    let gap: serde_json::Value = serde_json::from_str(&gap.data).unwrap();
    assert_eq!(gap["after"], ids[4].as_str());
    let event = next(&mut returning).await;
    assert_eq!(event.data, "after the restart");
    assert_ne!(event.id, ids[0], "a new history's offsets are its own");
    server.stop().await;
}

/// A publish that names its event reaches event streams as `event: name`.
#[tokio::test]
async fn a_publish_can_name_its_event() {
    let hub = Hub::new();
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    let mut stream = events(open(&server, "/api/sse/news", None).await);
    wait_for_subscribers(&hub, "news", 1).await;
    hub.publish_event("news", "headline", "big news").unwrap();
    hub.publish("news", "small news").unwrap();
    let named = next(&mut stream).await;
    assert_eq!(
        (named.event.as_str(), named.data.as_str()),
        ("headline", "big news")
    );
    let plain = next(&mut stream).await;
    assert_eq!(
        (plain.event.as_str(), plain.data.as_str()),
        ("message", "small news")
    );
    server.stop().await;
}

async fn wait_for_subscribers(hub: &Hub, topic: &str, count: usize) {
    tokio::time::timeout(WAIT, async {
        while hub.subscriber_count(topic) < count {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the streams subscribed");
}

#[tokio::test]
async fn a_thousand_streams_opened_and_dropped_leave_nothing_behind() {
    let metrics = tokio::runtime::Handle::current().metrics();
    // Before the server's own task: it ends too, and must not hide one that stays.
    let tasks_before = metrics.num_alive_tasks();
    let hub = Hub::new();
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    let client = reqwest::Client::new();
    for _ in 0..1000 {
        let response = client
            .get(server.url("/api/sse/news"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        drop(response);
    }
    // `stop` waits for every connection; each dropped stream has unsubscribed by then.
    server.stop().await;
    // What the hub keeps, not only topics with subscribers: an empty topic left behind counts.
    assert_eq!(hub.kept_topic_count(), 0, "topics kept: {hub:?}");
    assert_eq!(hub.subscriber_count("news"), 0);
    // The client's idle pooled connections hold tasks of their own, which end once it is dropped,
    // when they next run: wait for the count to come down, within a bound.
    drop(client);
    let settled = tokio::time::timeout(WAIT, async {
        while metrics.num_alive_tasks() > tasks_before {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        settled.is_ok(),
        "tasks before {tasks_before}, still {} after {WAIT:?}",
        metrics.num_alive_tasks()
    );
}

#[tokio::test]
async fn a_client_leaving_a_quiet_stream_is_noticed_without_a_push() {
    let state = AppState::default();
    let log = state.events.clone();
    let server = Server::start(router().with_state(state)).await;
    let response = open(&server, "/api/sse/idle", None).await;
    drop(response); // no event was ever pushed, and the keep-alive is 15 s away
    assert_eq!(log.wait_for("idle closed").await, "idle closed");
    assert_eq!(
        log.wait_for("idle closed() resolved").await,
        "idle closed() resolved"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_sse_function_may_take_a_body_extractor_last() {
    let server = Server::start(router().with_state(AppState::default())).await;
    let response = reqwest::Client::new()
        .get(server.url("/api/sse/body"))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let all: Vec<Parsed> = events(response).collect().await;
    assert_eq!(
        all.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
        ["you sent hi"]
    );
    server.stop().await;
}

#[tokio::test]
async fn server_shutdown_ends_open_streams_so_the_server_can_exit() {
    let state = AppState::default();
    let log = state.events.clone();
    let server = Server::start(router().with_state(state)).await;
    let mut events = events(open(&server, "/api/sse?every_ms=20", None).await);
    next(&mut events).await;
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(WAIT, async {
        while events.next().await.is_some() {} // events already on their way, then the end
    })
    .await;
    assert!(end.is_ok(), "the stream did not end on shutdown");
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("the server exits once its streams have ended")
        .expect("server task");
    assert_eq!(log.wait_for("clock closed").await, "clock closed");
}

#[tokio::test]
async fn a_stream_whose_text_mentions_compile_error_is_wrapped_like_any_other() {
    let server = Server::start(router().with_state(AppState::default())).await;
    let mut events = events(open(&server, "/api/sse/mentions", None).await);
    assert_eq!(
        next(&mut events).await.data,
        "compile_error is only a word here"
    );
    // Only the wrapper ends a stream on shutdown; unwrapped, this one would stay open.
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(WAIT, async { while events.next().await.is_some() {} }).await;
    assert!(
        end.is_ok(),
        "the stream did not end on shutdown: the function was not wrapped"
    );
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("the server exits once its streams have ended")
        .expect("server task");
}
