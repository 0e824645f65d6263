//! What presence costs, for `cargo xtask bench` (which builds this in release and runs
//! `bench-presence [--quick] OUT_DIR`): members are event streams made through the public API,
//! in rooms of [`ROOM`] (every join and leave is an event for the room's members), all in this
//! process, with and without a `redis-server` behind the hub.
//!
//! - **joins/s and leaves/s, presence off and on**: the same streams join the same rooms on a hub
//!   that tracks them and on one that does not; the ratio is presence's cost.
//! - **through Redis**: the joins, then until Redis holds every member (the broker writes them in
//!   order, so the last room's count tells).
//! - **Redis memory per member**: `INFO memory`'s `used_memory` before and after, and one room's
//!   two keys by `MEMORY USAGE`, each divided by the members.
//!
//! Medians of [`ROUNDS`] rounds; prints a table and writes it to `OUT_DIR/presence.json`.

use std::path::Path;
use std::time::{Duration, Instant};

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};
use nitrous::sse::EventStream;
use nitrous_support::RedisServer;
use serde_json::json;

/// Members per room.
const ROOM: usize = 10;
const ROUNDS: usize = 3;
const USAGE: &str = "usage: bench-presence [--quick] OUT_DIR";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (members, out) = match args.as_slice() {
        [quick, out] if quick == "--quick" => (10_000, out.clone()),
        [out] if !out.starts_with("--") => (100_000, out.clone()),
        _ => {
            eprintln!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(members, Path::new(&out))) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bench-presence: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One figure of the table.
struct Row {
    figure: String,
    value: f64,
    unit: &'static str,
    note: String,
}

async fn run(members: usize, out: &Path) -> Result<(), String> {
    let mut rows = Vec::new();
    let mut local = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (at, tracked) in [false, true].into_iter().enumerate() {
            let hub = Hub::new();
            if tracked {
                hub.track_presence("room:*");
            }
            let (joins, leaves) = join_and_leave(&hub, members, tracked);
            local[at].push(per_second(members, joins));
            local[2 + at].push(per_second(members, leaves));
        }
    }
    let [joins_off, joins_on, leaves_off, leaves_on] = local.map(median);
    let note = format!("{members} members in rooms of {ROOM}, one process, no broker");
    rows.push(row("joins/s, presence off", joins_off, "/s", &note));
    rows.push(row("joins/s, presence on", joins_on, "/s", &note));
    rows.push(row(
        "joins, presence on / off",
        joins_on / joins_off,
        "x",
        "each join is also an event to the room's members",
    ));
    rows.push(row("leaves/s, presence off", leaves_off, "/s", &note));
    rows.push(row("leaves/s, presence on", leaves_on, "/s", &note));
    rows.push(row(
        "leaves, presence on / off",
        leaves_on / leaves_off,
        "x",
        "",
    ));

    if RedisServer::installed() {
        rows.extend(through_redis(members).await?);
    } else {
        eprintln!(
            "bench-presence: no redis-server on the PATH; skipping the figures through Redis"
        );
    }

    let width = rows.iter().map(|r| r.figure.len()).max().unwrap_or(0);
    println!("\n{:<width$} {:>12} {:<4} note", "figure", "value", "unit");
    for row in &rows {
        println!(
            "{:<width$} {:>12.2} {:<4} {}",
            row.figure, row.value, row.unit, row.note
        );
    }
    let json: Vec<_> = rows
        .iter()
        .map(|r| json!({ "figure": r.figure, "value": r.value, "unit": r.unit, "note": r.note }))
        .collect();
    let path = out.join("presence.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `members` streams join rooms of [`ROOM`] (with a name as info where the hub tracks them),
/// then each closes: how long the joins took, and the leaves.
fn join_and_leave(hub: &Hub, members: usize, tracked: bool) -> (Duration, Duration) {
    let (joins, streams) = join(hub, members, "room", tracked);
    let start = Instant::now();
    for stream in &streams {
        stream.close();
    }
    (joins, start.elapsed())
}

fn join(hub: &Hub, members: usize, prefix: &str, tracked: bool) -> (Duration, Vec<EventStream>) {
    let mut streams = Vec::with_capacity(members);
    let start = Instant::now();
    for n in 0..members {
        let stream = EventStream::new();
        let topic = format!("{prefix}:{}", n / ROOM);
        if tracked {
            let info = json!({ "name": format!("member {n}") });
            stream.join(hub, &topic, &info).expect("a small info value");
        } else {
            stream.subscribe(hub, &topic);
        }
        streams.push(stream);
    }
    (start.elapsed(), streams)
}

/// The joins through a hub with the Redis broker, presence off and on, and what Redis holds.
async fn through_redis(members: usize) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut rates = [Vec::new(), Vec::new()];
    let mut per_member = Vec::new();
    let mut per_member_keys = Vec::new();
    for round in 0..ROUNDS {
        let redis = RedisServer::start().map_err(|e| e.to_string())?;
        let client = redis::Client::open(redis.url()).map_err(|e| e.to_string())?;
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        for (at, tracked) in [false, true].into_iter().enumerate() {
            let broker = RedisBroker::new(RedisConfig::new(redis.url()));
            let hub = Hub::with_broker(broker);
            let prefix = format!("r{round}t{at}");
            if tracked {
                hub.track_presence(&format!("{prefix}:*"));
            }
            let before = used_memory(&mut connection).await?;
            let start = Instant::now();
            let (_, streams) = join(&hub, members, &prefix, tracked);
            let last = format!("{prefix}:{}", (members - 1) / ROOM);
            let expected = members - (members - 1) / ROOM * ROOM;
            if tracked {
                // The broker writes in order: the last room complete is every room complete.
                let deadline = Instant::now() + Duration::from_secs(300);
                while hub.presence_count(&last).await.count != expected {
                    if Instant::now() > deadline {
                        return Err("Redis did not hold every member within 300 s".to_owned());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await; // polling Redis, bounded
                }
            }
            rates[at].push(per_second(members, start.elapsed()));
            if tracked {
                let after = used_memory(&mut connection).await?;
                per_member.push(after.saturating_sub(before) as f64 / members as f64);
                let mut room_bytes = 0;
                for kind in ["members", "expiry"] {
                    let key = format!("nitrous:\u{1e}{kind}:{prefix}:0");
                    let bytes: Option<u64> = redis::cmd("MEMORY")
                        .arg("USAGE")
                        .arg(&key)
                        .query_async(&mut connection)
                        .await
                        .map_err(|e| e.to_string())?;
                    room_bytes += bytes.unwrap_or(0);
                }
                per_member_keys.push(room_bytes as f64 / ROOM as f64);
            }
            drop(streams);
        }
    }
    let [off, on] = rates.map(median);
    let note = format!("{members} members in rooms of {ROOM}, until Redis holds them");
    rows.push(row(
        "joins/s through Redis, presence off",
        off,
        "/s",
        "the local joins (each new room: one SUBSCRIBE)",
    ));
    rows.push(row("joins/s through Redis, presence on", on, "/s", &note));
    rows.push(row(
        "joins through Redis, presence on / off",
        on / off,
        "x",
        "",
    ));
    rows.push(row(
        "Redis memory per member (used_memory)",
        median(per_member),
        "B",
        "info {\"name\":\"member N\"}, the two keys per room amortised over its members",
    ));
    rows.push(row(
        "Redis memory per member (MEMORY USAGE)",
        median(per_member_keys),
        "B",
        "one room's hash and expiry set, over its members",
    ));
    Ok(rows)
}

async fn used_memory(connection: &mut redis::aio::MultiplexedConnection) -> Result<u64, String> {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(connection)
        .await
        .map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "INFO memory has no used_memory".to_owned())
}

fn per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn row(figure: &str, value: f64, unit: &'static str, note: &str) -> Row {
    Row {
        figure: figure.to_owned(),
        value,
        unit,
        note: note.to_owned(),
    }
}
