//! Scale-out: two nitrous processes share topics through a real `redis-server` that the test
//! starts on a free port. WebSocket clients on both instances check cross-instance publish, the
//! publisher's exclusion, a server-side publish reaching everyone once, ordering, binary payloads,
//! and Redis dying and coming back.
//!
//! Retained topics keep their history in Redis Streams: clients that reconnect, to the same
//! instance or another, after a kill and restart of an instance, or with an offset older than the
//! stream keeps, get exactly what they missed (or the gap event), with a publisher running through
//! the handover; and with Redis down, local delivery goes on and a resume is told of the gap.
//!
//! Needs `redis-server` on the PATH (Debian's `redis-server` package; `cargo xtask ci` installs it).

mod support;

use futures_util::SinkExt;
use nitrous_support::{Process, RedisServer};
use serde_json::json;
use support::fixture::{fixture_command, fixture_server};
use support::redis::subscribed;
use support::sse::{Events, events, next_event};
use support::ws::{Client, json, next, say};
use tokio_tungstenite::tungstenite::Message;

/// A `redis-server` of this test's own, on a port of its own.
fn redis_server() -> RedisServer {
    RedisServer::start().expect("redis-server")
}

fn instance(redis: &RedisServer) -> (Process, String) {
    instance_retaining(redis, "")
}

/// An instance sharing topics through Redis, retaining `retain` (`news=1000,feed=1000`).
fn instance_retaining(redis: &RedisServer, retain: &str) -> (Process, String) {
    let mut command = fixture_command();
    command
        .env("NITROUS_REDIS_URL", redis.url())
        .env("NITROUS_RETAIN", retain);
    fixture_server(command)
}

async fn connect(addr: &str, path: &str) -> Client {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .expect("connect")
        .0
}

/// Joins the chat and waits until its `open` hook is done (the pong to a ping proves it).
async fn join_chat(addr: &str) -> (Client, String) {
    let mut client = connect(addr, "/ws/chat").await;
    let welcome = json(&mut client).await;
    let name = welcome["message"]
        .as_str()
        .unwrap()
        .trim_start_matches("Welcome ")
        .trim_end_matches('!')
        .to_owned();
    say(&mut client, "ping").await;
    assert_eq!(
        json(&mut client).await,
        json!({ "user": "server", "message": "pong" })
    );
    (client, name)
}

#[tokio::test]
async fn two_instances_share_topics_through_redis() {
    let mut redis = redis_server();
    let (_one, one) = instance(&redis);
    let (_two, two) = instance(&redis);

    let (mut a, a_name) = join_chat(&one).await;
    subscribed(&redis, "chat", 1).await;
    let (mut b, b_name) = join_chat(&two).await;
    subscribed(&redis, "chat", 2).await;
    assert_eq!(
        json(&mut a).await["message"],
        format!("{b_name} joined!"),
        "a join crosses instances"
    );

    // A peer's publish reaches the other instance, and not its own publisher twice.
    say(&mut a, "hello across").await;
    let hello = json!({ "user": a_name, "message": "hello across" });
    assert_eq!(json(&mut a).await, hello, "the echo");
    assert_eq!(json(&mut b).await, hello);
    say(&mut a, "ping").await;
    assert_eq!(
        json(&mut a).await["message"],
        "pong",
        "a did not get its own message back from Redis"
    );

    // A server-side publish on instance one reaches every subscriber once.
    let reply = reqwest::Client::new()
        .post(format!("http://{one}/api/announce"))
        .body("news")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reply.text().await.unwrap(),
        "reached 1",
        "one local subscriber; the other is remote"
    );
    assert_eq!(json(&mut a).await["message"], "news");
    assert_eq!(json(&mut b).await["message"], "news");
    say(&mut b, "ping").await;
    assert_eq!(json(&mut b).await["message"], "pong", "exactly once");

    // Messages from one publisher on one topic arrive in order.
    for n in 0..50 {
        say(&mut b, &format!("m{n}")).await;
    }
    for n in 0..50 {
        assert_eq!(json(&mut a).await["message"], format!("m{n}"));
    }
    for _ in 0..50 {
        json(&mut b).await; // b's echoes
    }

    // Binary and text payloads cross unchanged.
    let mut r1 = connect(&one, "/ws/relay").await;
    assert_eq!(next(&mut r1).await, Message::text("ready"));
    let mut r2 = connect(&two, "/ws/relay").await;
    assert_eq!(next(&mut r2).await, Message::text("ready"));
    subscribed(&redis, "relay", 2).await;
    let bytes = vec![0u8, 159, 146, 150, 255];
    r1.send(Message::binary(bytes.clone())).await.unwrap();
    assert_eq!(next(&mut r2).await, Message::binary(bytes));
    r2.send(Message::text("tëxt ✓")).await.unwrap();
    assert_eq!(next(&mut r1).await, Message::text("tëxt ✓"));

    // Redis dies: local delivery is uninterrupted.
    redis.stop();
    let (mut c, c_name) = join_chat(&one).await;
    assert_eq!(json(&mut a).await["message"], format!("{c_name} joined!"));
    say(&mut c, "while redis is down").await;
    assert_eq!(json(&mut c).await["message"], "while redis is down");
    assert_eq!(
        json(&mut a).await["message"],
        "while redis is down",
        "local delivery goes on"
    );

    // Redis comes back on the same port: both instances resubscribe and delivery crosses again.
    redis.restart().expect("redis-server again");
    subscribed(&redis, "chat", 2).await;
    say(&mut b, "after the outage").await;
    assert_eq!(json(&mut b).await["message"], "after the outage");
    assert_eq!(json(&mut a).await["message"], "after the outage");
    assert_eq!(json(&mut c).await["message"], "after the outage");
    say(&mut a, "and back").await;
    json(&mut a).await;
    assert_eq!(json(&mut b).await["message"], "and back");
}

/// Publishes `body` on `topic` through instance `addr`'s HTTP route.
async fn publish(addr: &str, topic: &str, body: impl ToString) {
    let reply = reqwest::Client::new()
        .post(format!("http://{addr}/api/publish/{topic}"))
        .body(body.to_string())
        .send()
        .await
        .expect("publish");
    assert!(reply.status().is_success(), "{:?}", reply.text().await);
}

/// The `news` event stream on `addr`, resuming after `last` if given.
async fn news(addr: &str, last: Option<&str>) -> Events {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/api/sse/news"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    events(request.send().await.expect("the stream"))
}

/// Reads events until `data` arrives; returns the numbers read, in order.
async fn numbers_until(events: &mut Events, last: u64) -> (Vec<u64>, String) {
    let mut numbers = Vec::new();
    loop {
        let event = next_event(events).await;
        let n: u64 = event.data.parse().unwrap_or_else(|_| panic!("{event:?}"));
        numbers.push(n);
        if n == last {
            return (numbers, event.id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_resumes_on_another_instance_with_exactly_what_it_missed() {
    let redis = redis_server();
    let (_a, a) = instance_retaining(&redis, "news=1000");
    let (_b, b) = instance_retaining(&redis, "news=1000");
    let mut on_b = news(&b, None).await;
    subscribed(&redis, "news", 1).await;
    for n in 1..=100 {
        publish(&a, "news", n).await;
    }
    let mut last = String::new();
    for n in 1..=40 {
        let event = next_event(&mut on_b).await;
        assert_eq!(event.data, n.to_string());
        last = event.id;
    }
    drop(on_b);
    for n in 101..=130 {
        publish(&a, "news", n).await;
    }
    // Back, on the other instance, with its Last-Event-ID: 41..=130, in order, once each.
    let mut on_a = news(&a, Some(&last)).await;
    let (numbers, _) = numbers_until(&mut on_a, 130).await;
    assert_eq!(numbers, (41..=130).collect::<Vec<_>>());
    publish(&a, "news", 131).await;
    assert_eq!(next_event(&mut on_a).await.data, "131", "then live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_resumes_its_websocket_on_another_instance_with_exactly_what_it_missed() {
    let redis = redis_server();
    let (_a, a) = instance_retaining(&redis, "feed=1000");
    let (_b, b) = instance_retaining(&redis, "feed=1000");
    let mut page = connect(&b, "/ws/resumable").await;
    assert_eq!(next(&mut page).await, Message::text("subscribed"));
    subscribed(&redis, "feed", 1).await;
    for n in 1..=100 {
        publish(&a, "feed", n).await;
    }
    let mut since = String::new();
    for n in 1..=40 {
        let message = json(&mut page).await;
        assert_eq!(message["text"], n.to_string());
        since = message["offset"].as_str().expect("an offset").to_owned();
    }
    drop(page);
    for n in 101..=130 {
        publish(&a, "feed", n).await;
    }
    let mut back = connect(&a, &format!("/ws/resumable?since={since}")).await;
    assert_eq!(next(&mut back).await, Message::text("subscribed"));
    for n in 41..=130 {
        assert_eq!(
            json(&mut back).await["text"],
            n.to_string(),
            "in order, once each"
        );
    }
    publish(&a, "feed", 131).await;
    assert_eq!(json(&mut back).await["text"], "131");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_during_a_running_publisher_loses_and_doubles_nothing_twenty_times() {
    let redis = redis_server();
    let (_a, a) = instance_retaining(&redis, "news=100000");
    let (_b, b) = instance_retaining(&redis, "news=100000");
    let mut current = news(&b, None).await;
    subscribed(&redis, "news", 1).await;
    let mut next_number = 1u64;
    let mut on_b = true;
    for round in 0..20 {
        // A publisher on A runs through the whole round, reconnect included.
        let first = next_number;
        let end = first + 99;
        let publisher = {
            let a = a.clone();
            tokio::spawn(async move {
                for n in first..=end {
                    publish(&a, "news", n).await;
                }
            })
        };
        let (mut seen, last) = numbers_until(&mut current, first + 29).await;
        drop(current);
        // Back on the other instance, while the publisher goes on.
        on_b = !on_b;
        let target = if on_b { &b } else { &a };
        current = news(target, Some(&last)).await;
        let (rest, _) = numbers_until(&mut current, end).await;
        seen.extend(rest);
        assert_eq!(seen, (first..=end).collect::<Vec<_>>(), "round {round}");
        publisher.await.unwrap();
        next_number = end + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resumes_across_a_kill_and_restart_of_its_instance() {
    let redis = redis_server();
    let (_a, a) = instance_retaining(&redis, "news=1000");
    let (b_process, b) = instance_retaining(&redis, "news=1000");
    let mut on_b = news(&b, None).await;
    subscribed(&redis, "news", 1).await;
    for n in 1..=100 {
        publish(&a, "news", n).await;
    }
    let (_, last) = numbers_until(&mut on_b, 40).await;
    drop(b_process); // killed (SIGKILL): its connections break
    drop(on_b);
    for n in 101..=130 {
        publish(&a, "news", n).await;
    }
    let (_b_again, b_again) = instance_retaining(&redis, "news=1000");
    let mut back = news(&b_again, Some(&last)).await;
    let (numbers, _) = numbers_until(&mut back, 130).await;
    assert_eq!(numbers, (41..=130).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_older_than_the_stream_keeps_gets_the_gap_event() {
    let redis = redis_server();
    let (_a, a) = instance_retaining(&redis, "news=5");
    let mut first = news(&a, None).await;
    subscribed(&redis, "news", 1).await;
    publish(&a, "news", 1).await;
    let oldest = next_event(&mut first).await.id;
    drop(first);
    // Far more than the stream keeps (MAXLEN ~ 5 trims in whole blocks of 100).
    for n in 2..=400 {
        publish(&a, "news", n).await;
    }
    let mut behind = news(&a, Some(&oldest)).await;
    let gap = next_event(&mut behind).await;
    assert_eq!(gap.event, nitrous::sse::REPLAY_GAP_EVENT, "{gap:?}");
    let gap: serde_json::Value = serde_json::from_str(&gap.data).unwrap();
    assert_eq!(gap["after"], oldest.as_str());
    let resumed_at = gap["resumed_at"]
        .as_str()
        .expect("what the stream still has")
        .to_owned();
    let first_kept = next_event(&mut behind).await;
    assert_eq!(first_kept.id, resumed_at);
    let from: u64 = first_kept.data.parse().unwrap();
    assert!(from > 2, "messages were trimmed: {from}");
    let (rest, _) = numbers_until(&mut behind, 400).await;
    assert_eq!(
        rest,
        (from + 1..=400).collect::<Vec<_>>(),
        "a contiguous end, once each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_local_delivery_goes_on_a_resume_is_told_and_numbering_goes_on() {
    // Its data in an append-only file, as a production Redis keeps it, so a restart keeps the
    // stream and its numbering.
    let mut redis = RedisServer::start_with_aof().expect("redis-server");
    let (_a, a) = instance_retaining(&redis, "news=1000");
    let mut live = news(&a, None).await;
    subscribed(&redis, "news", 1).await;
    for n in 1..=3 {
        publish(&a, "news", n).await;
    }
    let mut ids = Vec::new();
    for n in 1..=3 {
        let event = next_event(&mut live).await;
        assert_eq!(event.data, n.to_string());
        ids.push(nitrous::Offset::parse(&event.id).expect("a stream id"));
    }

    redis.stop();
    publish(&a, "news", "during").await;
    let during = next_event(&mut live).await;
    assert_eq!(during.data, "during", "local delivery goes on");
    assert_eq!(
        during.id,
        ids[2].to_string(),
        "without an offset of its own"
    );
    // A resume that needs the stream: told of the gap (within the replay timeout), then live.
    let mut resumed = news(&a, Some(&ids[0].to_string())).await;
    let gap = next_event(&mut resumed).await;
    assert_eq!(gap.event, nitrous::sse::REPLAY_GAP_EVENT, "{gap:?}");

    redis.restart().expect("redis-server again");
    subscribed(&redis, "news", 1).await;
    publish(&a, "news", "after").await;
    let after = next_event(&mut live).await;
    assert_eq!(after.data, "after");
    let after = nitrous::Offset::parse(&after.id).expect("a stream id");
    assert!(
        after > ids[2],
        "the numbering goes on without reuse: {after} after {}",
        ids[2]
    );
    assert_eq!(next_event(&mut resumed).await.data, "after");
}
