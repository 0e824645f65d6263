//! Scale-out: two nitrous processes share topics through a real `redis-server` that the test
//! starts on a free port. WebSocket clients on both instances check cross-instance publish, the
//! publisher's exclusion, a server-side publish reaching everyone once, ordering, binary payloads,
//! and Redis dying and coming back.
//!
//! Needs `redis-server` on the PATH (Debian's `redis-server` package; `.ci/run` installs it).

mod support;

use std::process::Command;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use support::process::{Process, fixture_command, fixture_server, start};
use support::ws::{Client, json, next, say};
use tokio_tungstenite::tungstenite::Message;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis_server(port: u16) -> Process {
    let mut command = Command::new("redis-server");
    command.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("redis-server is not on the PATH: install Debian's redis-server (`.ci/run` does)");
    }
    start(command, |line| {
        line.contains("Ready to accept connections")
            .then(String::new)
    })
    .0
}

fn instance(redis_port: u16) -> (Process, String) {
    let mut command = fixture_command();
    command.env(
        "NITROUS_REDIS_URL",
        format!("redis://127.0.0.1:{redis_port}"),
    );
    fixture_server(command)
}

/// Waits until `count` instances subscribe to `topic`'s channel in Redis: an instance subscribes
/// when its first local subscriber arrives, asynchronously, so a publish right after could miss.
async fn subscribed(redis_port: u16, topic: &str, count: i64) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}")).unwrap();
    let channel = format!("nitrous:{topic}");
    let check = async {
        loop {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                let numsub: Result<(String, i64), _> = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async(&mut connection)
                    .await;
                if numsub.is_ok_and(|(_, n)| n == count) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await; // polling Redis, a bounded wait
        }
    };
    tokio::time::timeout(Duration::from_secs(15), check)
        .await
        .unwrap_or_else(|_| panic!("{count} instances never subscribed to {channel}"));
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
    let redis_port = free_port();
    let mut redis = redis_server(redis_port);
    let (_one, one) = instance(redis_port);
    let (_two, two) = instance(redis_port);

    let (mut a, a_name) = join_chat(&one).await;
    subscribed(redis_port, "chat", 1).await;
    let (mut b, b_name) = join_chat(&two).await;
    subscribed(redis_port, "chat", 2).await;
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
    subscribed(redis_port, "relay", 2).await;
    let bytes = vec![0u8, 159, 146, 150, 255];
    r1.send(Message::binary(bytes.clone())).await.unwrap();
    assert_eq!(next(&mut r2).await, Message::binary(bytes));
    r2.send(Message::text("tëxt ✓")).await.unwrap();
    assert_eq!(next(&mut r1).await, Message::text("tëxt ✓"));

    // Redis dies: local delivery is uninterrupted.
    drop(redis);
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
    redis = redis_server(redis_port);
    subscribed(redis_port, "chat", 2).await;
    say(&mut b, "after the outage").await;
    assert_eq!(json(&mut b).await["message"], "after the outage");
    assert_eq!(json(&mut a).await["message"], "after the outage");
    assert_eq!(json(&mut c).await["message"], "after the outage");
    say(&mut a, "and back").await;
    json(&mut a).await;
    assert_eq!(json(&mut b).await["message"], "and back");
    drop(redis);
}
