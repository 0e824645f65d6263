//! Redis faults, with a real `redis-server` and two nitrous processes: Redis stopped (`SIGSTOP`)
//! while clients publish 200 MB, one instance's connections killed (`CLIENT KILL`) while another
//! publishes on a retained topic at a steady pace, and Redis restarted (with its append-only
//! file) the same way. Memory stays bounded, local delivery goes on, what is dropped is counted
//! and logged, service comes back by itself, and live subscribers of a retained topic get every
//! message of its stream once, in order.
//!
//! Needs `redis-server` on the PATH (Debian's `redis-server` package; `cargo xtask ci` installs
//! it).

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use nitrous_support::{Process, RedisServer, rss_kib};
use serde_json::Value;
use support::fixture::{fixture_command, fixture_server};
use support::redis::subscribed;
use support::ws::{Client, next, text};
use tokio_tungstenite::tungstenite::Message;

/// An instance sharing topics through Redis, and what it logs.
struct Instance {
    process: Process,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Instance {
    fn start(redis: &RedisServer, env: &[(&str, &str)]) -> Instance {
        let mut command = fixture_command();
        command
            .env("NITROUS_REDIS_URL", redis.url())
            .env("RUST_LOG", "warn,nitrous::broker=info")
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let (mut process, addr) = fixture_server(command);
        let stderr = process.child_mut().stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[instance] {line}");
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Instance { process, addr, log }
    }

    fn rss_kib(&self) -> u64 {
        rss_kib(self.process.pid()).unwrap()
    }

    fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().contains(what)
    }

    async fn stats(&self) -> Value {
        reqwest::get(format!("http://{}/broker-stats", self.addr))
            .await
            .expect("broker stats")
            .json()
            .await
            .expect("JSON")
    }

    async fn connect(&self, path: &str) -> Client {
        tokio_tungstenite::connect_async(format!("ws://{}{path}", self.addr))
            .await
            .expect("connect")
            .0
    }
}

/// Polls `condition` every 20 ms until it holds, for at most `limit`.
async fn until<F: std::future::Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> F,
) {
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling, a bounded wait
    }
}

/// The local ports of process `pid`'s TCP connections to `port` (from its socket descriptors and
/// the kernel's table of TCP sockets).
fn ports_to(pid: u32, port: u16) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/PID/fd")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(table) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port_of = |address: &str| {
                u16::from_str_radix(address.rsplit(':').next().unwrap_or_default(), 16).ok()
            };
            if fields.len() > 9
                && port_of(fields[2]) == Some(port)
                && inodes.contains(fields[9])
                && let Some(local) = port_of(fields[1])
            {
                ports.push(local);
            }
        }
    }
    ports
}

/// Kills every connection the process `pid` has to Redis, with `CLIENT KILL`; returns how many.
async fn kill_connections_of(redis: &RedisServer, pid: u32) -> usize {
    let ports = ports_to(pid, redis.port());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut killed = 0;
    for port in ports {
        let killed_one: redis::RedisResult<i64> = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ADDR")
            .arg(format!("127.0.0.1:{port}"))
            .query_async(&mut connection)
            .await;
        killed += usize::from(killed_one.is_ok());
    }
    killed
}

/// Redis stopped for 10 s while a client pushes 200 MB through one instance: the instance's memory
/// stays within its queue's bound, its local subscriber gets every message, what did not reach
/// Redis is counted (exactly) and logged, and once Redis wakes the instances talk again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_bounds_memory_counts_what_it_drops_and_comes_back() {
    const QUEUE: usize = 8 * 1024 * 1024;
    const MESSAGES: u32 = 3200;
    const SIZE: usize = 64 * 1024; // 3200 x 64 KiB: 200 MiB
    const WINDOW: u32 = 8; // the publisher stays this far ahead of the local subscriber
    let mut redis = RedisServer::start().expect("redis-server");
    let a = Instance::start(&redis, &[("NITROUS_REDIS_QUEUE_BYTES", &QUEUE.to_string())]);
    let b = Instance::start(&redis, &[]);
    let mut publisher = a.connect("/ws/relay").await;
    let mut local = a.connect("/ws/relay").await;
    let mut remote = b.connect("/ws/relay").await;
    for client in [&mut publisher, &mut local, &mut remote] {
        assert_eq!(text(client).await, "ready");
    }
    subscribed(&redis, "relay", 2).await;
    publisher.send(Message::text("warm")).await.unwrap();
    assert_eq!(text(&mut local).await, "warm");
    assert_eq!(text(&mut remote).await, "warm", "the instances talk");
    let (a_before, b_before) = (a.rss_kib(), b.rss_kib());

    redis.pause().expect("SIGSTOP");
    let stopped = Instant::now();
    // The local subscriber reads on its own task and tells how far it got.
    let (read, mut progress) = tokio::sync::watch::channel(0u32);
    let reader = tokio::spawn(async move {
        for n in 0..MESSAGES {
            let Message::Binary(bytes) = next(&mut local).await else {
                panic!("binary expected");
            };
            assert_eq!(bytes.len(), SIZE);
            assert_eq!(bytes[..4], n.to_be_bytes(), "in order, none missing");
            read.send_replace(n + 1);
        }
        local
    });
    let peak = Arc::new(Mutex::new((0u64, 0u64)));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        let (a_pid, b_pid) = (a.process.pid(), b.process.pid());
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let mut peak = peak.lock().unwrap();
                peak.0 = peak.0.max(rss_kib(a_pid).unwrap());
                peak.1 = peak.1.max(rss_kib(b_pid).unwrap());
                drop(peak);
                std::thread::sleep(Duration::from_millis(20)); // a sampling period
            }
        })
    };
    let mut payload = vec![7u8; SIZE];
    for n in 0..MESSAGES {
        while *progress.borrow() + WINDOW < n {
            progress.changed().await.expect("the reader goes on");
        }
        payload[..4].copy_from_slice(&n.to_be_bytes());
        publisher
            .send(Message::binary(payload.clone()))
            .await
            .expect("send");
    }
    let mut local = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the local subscriber got every message while Redis was stopped")
        .expect("reader");
    // Everything the broker took is settled (refused, or given up on) before Redis wakes.
    until(
        Duration::from_secs(20),
        "the broker's queue drains",
        || async { a.stats().await["queued_bytes"] == 0 },
    )
    .await;
    let counted = a.stats().await;
    if let Some(rest) = Duration::from_secs(10).checked_sub(stopped.elapsed()) {
        tokio::time::sleep(rest).await; // Redis stays stopped for 10 s, as the fault is defined
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let (a_peak, b_peak) = *peak.lock().unwrap();
    redis.resume().expect("SIGCONT");
    let woke = Instant::now();

    let bound_kib = (QUEUE as u64 + (1 << 20)) / 1024 + 24 * 1024;
    eprintln!(
        "instance a: {a_before} KiB before, {a_peak} KiB at most; b: {b_before} then {b_peak} KiB; \
         counted {counted}"
    );
    assert!(
        a_peak.saturating_sub(a_before) < bound_kib,
        "a grew {} KiB while 200 MiB went through it (queue {QUEUE} bytes)",
        a_peak - a_before
    );
    assert!(
        b_peak.saturating_sub(b_before) < bound_kib,
        "b grew {} KiB",
        b_peak - b_before
    );
    let dropped = counted["refused"].as_u64().unwrap() + counted["unsent"].as_u64().unwrap();
    assert_eq!(
        dropped,
        u64::from(MESSAGES),
        "every message that did not reach Redis is counted once: {counted}"
    );
    assert!(a.logged("lost the Redis broker"), "the outage is logged");
    if counted["refused"].as_u64().unwrap() > 0 {
        assert!(
            a.logged("did not fit the broker's queue"),
            "refusals are logged"
        );
    }

    // Back within seconds: a message published on a crosses to b again.
    let mut back = false;
    let mut seen: Vec<u32> = Vec::new();
    let mut tries = 0u32;
    while !back {
        assert!(
            woke.elapsed() < Duration::from_secs(20),
            "the instances talk again within 20 s of Redis waking"
        );
        tries += 1;
        publisher
            .send(Message::text(format!("after {tries}")))
            .await
            .unwrap();
        assert_eq!(text(&mut local).await, format!("after {tries}"));
        let deadline = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                message = remote.next() => match message.expect("b's client stays").expect("frame") {
                    Message::Text(text) if text.starts_with("after ") => { back = true; break; }
                    Message::Binary(bytes) => seen.push(u32::from_be_bytes(bytes[..4].try_into().unwrap())),
                    _ => {}
                },
            }
        }
    }
    eprintln!("back {:?} after Redis woke", woke.elapsed());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "what b got of the stalled messages is in order, once each"
    );
    assert!(
        a.logged("Redis broker reconnected"),
        "the recovery is logged"
    );
}

/// A live subscriber of a retained topic, as a page holds one: every message's offset and text.
async fn feed(instance: &Instance) -> Client {
    let mut client = instance.connect("/ws/resumable").await;
    assert_eq!(text(&mut client).await, "subscribed");
    client
}

/// Reads `feed` messages until the text `last`; returns the texts and offsets, in order.
async fn read_until(client: &mut Client, last: &str) -> Vec<(String, String)> {
    let mut read = Vec::new();
    loop {
        let message: Value = match tokio::time::timeout(Duration::from_secs(30), client.next())
            .await
            .expect("a message within 30 s")
        {
            Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("JSON"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("{other:?}"),
        };
        let text = message["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{message}"))
            .to_owned();
        let offset = message["offset"].as_str().unwrap_or_default().to_owned();
        let done = text == last;
        read.push((text, offset));
        if done {
            return read;
        }
    }
}

/// Publishes `0..count` on `topic` through `addr`, one every 10 ms; returns the replies.
fn steady_publisher(addr: String, count: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut pace = tokio::time::interval(Duration::from_millis(10));
        for n in 0..count {
            pace.tick().await;
            let reply = client
                .post(format!("http://{addr}/api/publish/feed"))
                .body(n.to_string())
                .send()
                .await
                .expect("publish");
            assert!(reply.status().is_success());
        }
    })
}

/// What a retained topic's stream holds, oldest first: each entry's text.
async fn stream_texts(redis: &RedisServer, topic: &str) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("nitrous:{topic}"))
        .arg("-")
        .arg("+")
        .query_async(&mut connection)
        .await
        .unwrap();
    reply
        .ids
        .iter()
        .map(|id| {
            let bytes: Vec<u8> = id.get("m").expect("nitrous's field");
            let envelope = nitrous::broker::Envelope::decode(&bytes).expect("an envelope");
            envelope.payload().as_text().expect("text").to_owned()
        })
        .collect()
}

/// One instance's connections to Redis killed, three times, while another publishes on a
/// retained topic every 10 ms: the first instance's live subscriber gets every message once, in
/// order, with the stream's offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_loses_nothing_on_a_retained_topic() {
    let redis = RedisServer::start().expect("redis-server");
    let retain = [("NITROUS_RETAIN", "feed=100000")];
    let a = Instance::start(&redis, &retain);
    let b = Instance::start(&redis, &retain);
    let mut listener = feed(&a).await;
    subscribed(&redis, "feed", 1).await;
    let publishing = steady_publisher(b.addr.clone(), 300);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(600)).await; // the pace of the faults
        let killed = kill_connections_of(&redis, a.process.pid()).await;
        assert!(
            killed >= 2,
            "a's pub/sub and publishing connections: {killed}"
        );
    }
    publishing.await.unwrap();
    let read = read_until(&mut listener, "299").await;
    let texts: Vec<String> = read.iter().map(|(text, _)| text.clone()).collect();
    let expected: Vec<String> = (0..300).map(|n| n.to_string()).collect();
    assert_eq!(texts, expected, "every message once, in order");
    let offsets: Vec<nitrous::Offset> = read
        .iter()
        .map(|(_, offset)| nitrous::Offset::parse(offset).expect("the stream's offset"))
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    let stats = a.stats().await;
    assert!(
        stats["caught_up"].as_u64().unwrap() > 0,
        "the messages published while a was cut off came from the stream: {stats}"
    );
    assert!(a.logged("Redis broker reconnected"));
}

/// Redis restarted (its append-only file keeps the streams) while one instance publishes on a
/// retained topic every 10 ms: the other instance's live subscriber gets exactly what the stream
/// holds, once, in order, from before the restart and after it; what could not reach Redis
/// while it was down is counted by the publishing instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_its_append_only_file_loses_nothing_the_stream_holds() {
    let mut redis = RedisServer::start_with_aof().expect("redis-server");
    let retain = [("NITROUS_RETAIN", "feed=100000")];
    let a = Instance::start(&redis, &retain);
    let b = Instance::start(&redis, &retain);
    let mut listener = feed(&a).await;
    // b's own subscriber tells when b is back: an instance subscribes once it has reconnected.
    let _on_b = feed(&b).await;
    subscribed(&redis, "feed", 2).await;
    let publishing = steady_publisher(b.addr.clone(), 300);
    tokio::time::sleep(Duration::from_millis(800)).await; // the fault comes mid-way
    redis.restart().expect("redis-server again");
    publishing.await.unwrap();
    subscribed(&redis, "feed", 2).await;
    // The stream's last message, as a marker that everything before it was delivered.
    let client = reqwest::Client::new();
    let reply = client
        .post(format!("http://{}/api/publish/feed", b.addr))
        .body("end")
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success());
    let read = read_until(&mut listener, "end").await;
    let texts: Vec<String> = read.iter().map(|(text, _)| text.clone()).collect();
    let stream = stream_texts(&redis, "feed").await;
    assert_eq!(texts, stream, "what the stream holds, once, in order");
    let numbers: Vec<u32> = texts[..texts.len() - 1]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(numbers.first(), Some(&0), "from before the restart");
    // Each message is in the stream or counted as not sent (a batch cut by the restart may be
    // both: Redis wrote it, b never heard back).
    let unsent = b.stats().await["unsent"].as_u64().unwrap();
    assert!(
        numbers.len() as u64 + unsent >= 300,
        "b counted each message it could not append: {} in the stream, {unsent} counted",
        numbers.len()
    );
}
