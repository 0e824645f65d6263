//! The load half of `cargo xtask bench` (which builds this in release beside `bench-nitrous` and
//! `bench-axum`, then runs `bench-load [--quick] OUT_DIR`): the same protocol served by nitrous,
//! by two hand-written axum apps (default settings; tuned) and by a Bun app
//! (`tests/bench-bun/server.js`, run by the `bun` that [`BUN_ENV`] names), driven by one load
//! generator (tokio-tungstenite clients, and raw ones for an echo and a fan-out, [`saturate`];
//! loopback only, every loop bounded), the servers taking turns within each throughput workload
//! ([`throughput`]). Server CPU and memory come from the server process's own accounting in
//! `/proc`, so a busy client does not flatter the server.
//! Prints the side-by-side table and writes every sample to `OUT_DIR/load.json`.
//!
//! Beside them, nitrous's typed channels against its raw routes ([`channel`]): the same echo and
//! fan-out through `impl Channel` routes, on one process, in the same rounds; `bench-load channels
//! [--quick] OUT_DIR` runs only that comparison.
//!
//! `bench-load latency [--quick]` runs only the retained topic's local latency with Redis
//! ([`latency`]), beside a plain topic's, and prints both.
//!
//! `bench-load profile [--quick] OUT_DIR` profiles each server's CPU per workload with `perf`
//! ([`profile`]).
//!
//! `bench-load memory [--quick] OUT_DIR` runs only the memory figures (idle connections, and
//! connections after a 64 KiB echo) and their handshakes, for every server: a minute's check of a
//! change to what a connection holds.
//!
//! With [`pin::SERVER_CPUS_ENV`] set, every server runs on those CPUs only, and whoever starts
//! this pins it to the others ([`pin`]; `cargo xtask bench --pin`).
//!
//! `bench-load rooms [--quick] OUT_DIR` runs the rooms-at-scale workload instead ([`rooms`]), whose
//! client processes are this binary too (`bench-load room-client ...`, [`room_clients`]).

mod channel;
mod latency;
mod many_topics;
mod pin;
mod profile;
mod room_clients;
mod rooms;
mod saturate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use nitrous_support::bench::BUN_ENV;
use nitrous_support::{Process, RedisServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;

use crate::channel::Protocol;

/// Why the bench stopped.
#[derive(Debug)]
enum Failure {
    Failed(String),
}

impl From<nitrous_support::Error> for Failure {
    fn from(error: nitrous_support::Error) -> Failure {
        Failure::Failed(error.to_string())
    }
}

/// Where the server binaries are: beside this one.
fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
        .unwrap_or_default()
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("rooms") => return rooms::main(&args[1..]),
        Some("room-client") => return room_clients::main(&args[1..]),
        Some("channels") => return channel::main(&args[1..]),
        Some("latency") => return latency::main(&args[1..]),
        Some("profile") => return profile::main(&args[1..]),
        _ => {}
    }
    let (workloads, args) = match args.first().map(String::as_str) {
        Some("memory") => (Workloads::Memory, &args[1..]),
        _ => (Workloads::All, &args[..]),
    };
    let Some((quick, out)) = quick_and_out(args) else {
        eprintln!(
            "usage: bench-load [--quick] OUT_DIR | bench-load memory [--quick] OUT_DIR | bench-load rooms [--quick] OUT_DIR | bench-load channels [--quick] OUT_DIR | bench-load latency [--quick] | bench-load profile [--quick] OUT_DIR"
        );
        return std::process::ExitCode::from(2);
    };
    let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
    finish(
        "bench-load",
        run(sizes, workloads)
            .and_then(|(samples, channels)| report(&samples, &channels, Path::new(out))),
    )
}

/// A workload's arguments, `[--quick] OUT_DIR`: whether it is quick, and where results go.
fn quick_and_out(args: &[String]) -> Option<(bool, &str)> {
    match args {
        [flag, out] if flag == "--quick" => Some((true, out)),
        [out] => Some((false, out)),
        _ => None,
    }
}

/// Says where a workload's results went, or why it failed.
fn finish(who: &str, outcome: Result<PathBuf, Failure>) -> std::process::ExitCode {
    match outcome {
        Ok(path) => {
            println!("results: {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(Failure::Failed(why)) => {
            eprintln!("{who}: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The Bun server: the bench's protocol as a `Bun.serve` app.
const BUN_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench-bun/server.js");

/// The `bun` binary [`BUN_ENV`] names, if it does.
fn bun() -> Option<PathBuf> {
    std::env::var_os(BUN_ENV)
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// The servers compared, in the order each round runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Nitrous,
    AxumTuned,
    AxumDefault,
    Bun,
}

impl Server {
    /// The servers each round runs: Bun too when [`BUN_ENV`] names it (said once when not).
    fn compared() -> Vec<Server> {
        let mut servers = vec![Server::Nitrous, Server::AxumTuned, Server::AxumDefault];
        if bun().is_some() {
            servers.push(Server::Bun);
        } else {
            eprintln!("bench: {BUN_ENV} is not set (cargo xtask bench sets it); skipping Bun");
        }
        servers
    }

    fn name(self) -> &'static str {
        match self {
            Server::Nitrous => "nitrous",
            Server::AxumTuned => "axum tuned",
            Server::AxumDefault => "axum default",
            Server::Bun => "bun",
        }
    }

    /// Starts the server; returns it and the address it serves. Nitrous's shares topics through
    /// `redis`, and with `retain` keeps the fan-out topic's history (in Redis Streams, with Redis).
    fn start(
        self,
        redis: Option<&RedisServer>,
        retain: bool,
    ) -> Result<(Process, String), Failure> {
        self.start_with(redis, retain, false)
    }

    /// nitrous with a metrics recorder installed (`NITROUS_BENCH_METRICS`).
    fn start_recorded(self) -> Result<(Process, String), Failure> {
        self.start_with(None, false, true)
    }

    fn start_with(
        self,
        redis: Option<&RedisServer>,
        retain: bool,
        recorded: bool,
    ) -> Result<(Process, String), Failure> {
        let bin = bin_dir();
        let mut command = match self {
            Server::Nitrous => pin::server_command(bin.join("bench-nitrous")),
            Server::AxumTuned | Server::AxumDefault => pin::server_command(bin.join("bench-axum")),
            Server::Bun => {
                let bun = bun().ok_or_else(|| Failure::Failed(format!("{BUN_ENV} is not set")))?;
                let mut command = pin::server_command(bun);
                command.arg(BUN_SERVER);
                command
            }
        };
        if self == Server::AxumTuned {
            command.arg("--tuned");
        }
        if let Some(redis) = redis {
            command.env("NITROUS_REDIS_URL", redis.url());
        }
        if retain {
            command.env("NITROUS_RETAIN", "fan=1000");
        }
        if recorded {
            command.env("NITROUS_BENCH_METRICS", "1");
        }
        Ok(Process::start(command, address)?)
    }
}

/// A server's first line that says something: its address.
fn address(line: &str) -> Option<String> {
    Some(line.trim().to_owned()).filter(|l| !l.is_empty())
}

/// How much load: `--quick` only checks that everything runs.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    rounds: usize,
    /// How many times per round each server runs the 64-byte echo and the fan-out
    /// ([`throughput`]).
    turns: usize,
    echo_clients: usize,
    echo_messages: usize,
    /// The echo from raw clients ([`saturate`]): connections, and messages each.
    raw_clients: usize,
    raw_messages: usize,
    /// The fan-out from raw clients: messages published (to `fan_subscribers`).
    raw_fan_messages: usize,
    /// The large-message echo: fewer clients and messages, 16 KiB each.
    large_clients: usize,
    large_messages: usize,
    fan_subscribers: usize,
    fan_messages: usize,
    idle_connections: usize,
    sse_clients: usize,
    sse_events: usize,
}

impl Sizes {
    const FULL: Sizes = Sizes {
        rounds: 5,
        turns: 3,
        echo_clients: 50,
        echo_messages: 2000,
        raw_clients: 50,
        raw_messages: 4000,
        raw_fan_messages: 20_000,
        large_clients: 20,
        large_messages: 3000,
        fan_subscribers: 100,
        fan_messages: 10_000,
        idle_connections: 10_000,
        sse_clients: 20,
        sse_events: 100_000,
    };
    const QUICK: Sizes = Sizes {
        rounds: 1,
        turns: 1,
        echo_clients: 10,
        echo_messages: 200,
        raw_clients: 10,
        raw_messages: 200,
        raw_fan_messages: 200,
        large_clients: 4,
        large_messages: 50,
        fan_subscribers: 20,
        fan_messages: 200,
        idle_connections: 500,
        sse_clients: 5,
        sse_events: 2000,
    };
}

/// One figure: its unit and whether more is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Figure {
    name: &'static str,
    unit: &'static str,
    higher_is_better: bool,
}

const fn figure(name: &'static str, unit: &'static str, higher_is_better: bool) -> Figure {
    Figure {
        name,
        unit,
        higher_is_better,
    }
}

const ECHO_RATE: Figure = figure("echo: messages/s", "msg/s", true);
const ECHO_P50: Figure = figure("echo: round trip p50", "µs", false);
const ECHO_P99: Figure = figure("echo: round trip p99", "µs", false);
const ECHO_CPU: Figure = figure("echo: server CPU per message", "µs", false);
const ECHO_CPU_NS: Figure = figure("echo: server CPU per message, by schedstat", "µs", false);
const ECHO_BUSY: Figure = figure("echo: server busy, of one CPU", "%", true);
const RAW_RATE: Figure = figure("echo, raw clients: messages/s", "msg/s", true);
const RAW_CPU_NS: Figure = figure(
    "echo, raw clients: server CPU per message, by schedstat",
    "µs",
    false,
);
const RAW_USER: Figure = figure(
    "echo, raw clients: server CPU per message in user space",
    "µs",
    false,
);
const RAW_BUSY: Figure = figure("echo, raw clients: server busy, of one CPU", "%", true);
const RAW_FAN_RATE: Figure = figure("fan-out, raw clients: deliveries/s", "del/s", true);
const RAW_FAN_CPU_NS: Figure = figure(
    "fan-out, raw clients: server CPU per delivery, by schedstat",
    "µs",
    false,
);
const RAW_FAN_USER: Figure = figure(
    "fan-out, raw clients: server CPU per delivery in user space",
    "µs",
    false,
);
const RAW_FAN_BUSY: Figure = figure("fan-out, raw clients: server busy, of one CPU", "%", true);
const LARGE_RATE: Figure = figure("echo 16 KiB: messages/s", "msg/s", true);
const LARGE_CPU: Figure = figure("echo 16 KiB: server CPU per message", "µs", false);
const FAN_RATE: Figure = figure("fan-out: deliveries/s", "del/s", true);
const FAN_P99: Figure = figure("fan-out: publish-to-delivery p99", "ms", false);
const FAN_CPU: Figure = figure("fan-out: server CPU per delivery", "µs", false);
const FAN_CPU_NS: Figure = figure(
    "fan-out: server CPU per delivery, by schedstat",
    "µs",
    false,
);
const FAN_LOST: Figure = figure("fan-out: lost deliveries", "", false);

const IDLE_RSS: Figure = figure("idle: RSS per connection", "KiB", false);
const IDLE_AFTER: Figure = figure("idle: RSS after close, over start", "KiB", false);
const IDLE_AGAIN: Figure = figure("idle: a second wave's RSS over the first's", "KiB", false);
const IDLE_ECHOED: Figure = figure(
    "idle after one 64 KiB echo: RSS per connection",
    "KiB",
    false,
);
const HANDSHAKES: Figure = figure("idle: handshakes/s", "/s", true);
const HANDSHAKE_CPU: Figure = figure("idle: server CPU per handshake, by schedstat", "µs", false);
const SSE_RATE: Figure = figure("sse: events/s", "ev/s", true);
const SSE_CPU: Figure = figure("sse: server CPU per event", "µs", false);
const CROSS_RATE: Figure = figure(
    "fan-out across 2 instances via Redis: deliveries/s",
    "del/s",
    true,
);
const CROSS_LOST: Figure = figure("fan-out across 2 instances via Redis: lost", "", false);
const RECORDED_ECHO_CPU: Figure = figure(
    "echo, metrics recorded: server CPU per message, by schedstat",
    "µs",
    false,
);
const RECORDED_FAN_CPU: Figure = figure(
    "fan-out, metrics recorded: server CPU per delivery, by schedstat",
    "µs",
    false,
);
const RETAINED_RATE: Figure = figure("fan-out, retained topic: deliveries/s", "del/s", true);
const RETAINED_CPU: Figure = figure(
    "fan-out, retained topic: server CPU per delivery",
    "µs",
    false,
);
const STREAMS_RATE: Figure = figure(
    "fan-out across 2 instances via Redis Streams (retained): deliveries/s",
    "del/s",
    true,
);
const STREAMS_P99: Figure = figure(
    "fan-out across 2 instances via Redis Streams (retained): publish-to-delivery p99",
    "ms",
    false,
);
const STREAMS_CPU: Figure = figure(
    "fan-out across 2 instances via Redis Streams (retained): subscribers' server CPU per delivery",
    "µs",
    false,
);
const PACED_PLAIN_P50: Figure = figure(
    "1,000 msg/s to 100 on one instance with Redis, plain topic: latency p50",
    "ms",
    false,
);
const PACED_PLAIN_P99: Figure = figure(
    "1,000 msg/s to 100 on one instance with Redis, plain topic: latency p99",
    "ms",
    false,
);
const PACED_RETAINED_P50: Figure = figure(
    "1,000 msg/s to 100 on one instance with Redis, retained topic: latency p50",
    "ms",
    false,
);
const PACED_RETAINED_P99: Figure = figure(
    "1,000 msg/s to 100 on one instance with Redis, retained topic: latency p99",
    "ms",
    false,
);
const PACED_LOST: Figure = figure(
    "1,000 msg/s to 100 on one instance with Redis: lost (plain + retained)",
    "",
    false,
);
const STREAMS_LOST: Figure = figure(
    "fan-out across 2 instances via Redis Streams (retained): lost",
    "",
    false,
);

/// Every sample, by figure and server.
type Samples = BTreeMap<Figure, BTreeMap<Server, Vec<f64>>>;

/// The load generator's runtime: two worker threads, as many as the machine's cores.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("tokio: {e}")))
}

/// Which workloads a run has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Workloads {
    All,
    /// Only the idle connections' memory and handshakes, and the memory after a 64 KiB echo.
    Memory,
}

fn run(sizes: Sizes, workloads: Workloads) -> Result<(Samples, channel::Samples), Failure> {
    let runtime = runtime()?;
    let mut samples = Samples::new();
    let mut channels = channel::Samples::default();
    let mut record = |figure: Figure, server: Server, value: f64| {
        samples
            .entry(figure)
            .or_default()
            .entry(server)
            .or_default()
            .push(value);
    };
    let servers = Server::compared();
    for round in 1..=sizes.rounds {
        if workloads == Workloads::All {
            eprintln!(
                "bench: round {round}/{}: throughput, the servers in turn",
                sizes.rounds
            );
            throughput(&runtime, sizes, &servers, round, &mut record)?;
        }
        for &server in &servers {
            eprintln!(
                "bench: round {round}/{}: {}, memory",
                sizes.rounds,
                server.name()
            );
            // A fresh process for the memory figures, so earlier load does not count.
            let (running, addr) = server.start(None, false)?;
            let idle = runtime.block_on(idle(&addr, running.pid(), sizes))?;
            record(IDLE_RSS, server, idle.per_connection);
            record(IDLE_AFTER, server, idle.after_close);
            record(IDLE_AGAIN, server, idle.second_wave);
            record(HANDSHAKES, server, idle.handshakes);
            record(HANDSHAKE_CPU, server, idle.handshake_cpu);
            drop(running);
            // And one more: what a connection keeps once it has echoed one large message.
            let (running, addr) = server.start(None, false)?;
            let echoed = runtime.block_on(echoed(&addr, running.pid(), sizes))?;
            record(IDLE_ECHOED, server, echoed);
        }
        if workloads == Workloads::Memory {
            continue;
        }
        eprintln!(
            "bench: round {round}/{}: nitrous, typed channels and raw routes",
            sizes.rounds
        );
        channel::round(&runtime, sizes, round, &mut channels)?;
        if let Some(cross) = cross_instance(&runtime, sizes, false)? {
            record(CROSS_RATE, Server::Nitrous, cross.rate);
            record(CROSS_LOST, Server::Nitrous, cross.lost);
        }
        if let Some(cross) = cross_instance(&runtime, sizes, true)? {
            record(STREAMS_RATE, Server::Nitrous, cross.rate);
            record(STREAMS_P99, Server::Nitrous, cross.p99);
            record(STREAMS_CPU, Server::Nitrous, cross.cpu);
            record(STREAMS_LOST, Server::Nitrous, cross.lost);
        }
        if let Some((plain, retained)) = latency::round(&runtime, sizes)? {
            record(PACED_PLAIN_P50, Server::Nitrous, plain.p50);
            record(PACED_PLAIN_P99, Server::Nitrous, plain.p99);
            record(PACED_RETAINED_P50, Server::Nitrous, retained.p50);
            record(PACED_RETAINED_P99, Server::Nitrous, retained.p99);
            record(PACED_LOST, Server::Nitrous, plain.lost + retained.lost);
        }
    }
    Ok((samples, channels))
}

/// The throughput workloads of one round: echo (64 B and 16 KiB), fan-out and SSE, and for nitrous
/// the retained topic and a metrics recorder.
///
/// Every server's process runs from the start of the round, and the servers take turns within
/// each workload: the 64-byte echo and the fan-out (the figures set against Bun), each from
/// tokio-tungstenite clients and then from raw ones that keep the server busy ([`saturate`]),
/// `sizes.turns` times each. A server's run and the others' are then seconds apart rather than a
/// whole server's turn, so the machine's drift (its speed moves from minute to minute) falls on
/// all of them alike, and each median has `rounds * turns` samples. The servers' order turns by
/// one from round to round, so none always goes first.
fn throughput(
    runtime: &tokio::runtime::Runtime,
    sizes: Sizes,
    servers: &[Server],
    round: usize,
    record: &mut impl FnMut(Figure, Server, f64),
) -> Result<(), Failure> {
    let mut order = servers.to_vec();
    let turned = (round - 1) % order.len().max(1);
    order.rotate_left(turned);
    let running = order
        .iter()
        .map(|&server| {
            let (process, addr) = server.start(None, false)?;
            Ok((server, process, addr))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let small = Load {
        clients: sizes.echo_clients,
        messages: sizes.echo_messages,
        size: 64,
    };
    for _ in 0..sizes.turns {
        for (server, process, addr) in &running {
            let chat = runtime.block_on(echo(addr, process.pid(), small, Protocol::Raw))?;
            record(ECHO_RATE, *server, chat.rate);
            record(ECHO_P50, *server, chat.p50);
            record(ECHO_P99, *server, chat.p99);
            record(ECHO_CPU, *server, chat.cpu);
            record(ECHO_CPU_NS, *server, chat.cpu_ns);
            record(ECHO_BUSY, *server, chat.busy);
        }
        for (server, process, addr) in &running {
            let raw = saturate::echo(addr, process.pid(), sizes.raw_clients, sizes.raw_messages)?;
            record(RAW_RATE, *server, raw.rate);
            record(RAW_CPU_NS, *server, raw.cpu_ns);
            record(RAW_USER, *server, raw.user);
            record(RAW_BUSY, *server, raw.busy);
        }
        for (server, process, addr) in &running {
            let fan = runtime.block_on(fan_out(addr, addr, process.pid(), sizes, Protocol::Raw))?;
            record(FAN_RATE, *server, fan.rate);
            record(FAN_P99, *server, fan.p99);
            record(FAN_CPU, *server, fan.cpu);
            record(FAN_CPU_NS, *server, fan.cpu_ns);
            record(FAN_LOST, *server, fan.lost);
        }
        // Not default axum: with Nagle on and a flush per message, its fan-out to clients that
        // read at once crawls (75,000 deliveries/s in a quick run), minutes a run that tell
        // nothing the main fan-out does not.
        for (server, process, addr) in running.iter().filter(|r| r.0 != Server::AxumDefault) {
            let pid = process.pid();
            let (subscribers, messages) = (sizes.fan_subscribers, sizes.raw_fan_messages);
            let raw = saturate::fan_out(addr, pid, subscribers, messages, Protocol::Raw)?;
            record(RAW_FAN_RATE, *server, raw.rate);
            record(RAW_FAN_CPU_NS, *server, raw.cpu_ns);
            record(RAW_FAN_USER, *server, raw.user);
            record(RAW_FAN_BUSY, *server, raw.busy);
        }
    }
    let large = Load {
        clients: sizes.large_clients,
        messages: sizes.large_messages,
        size: 16 << 10,
    };
    for (server, process, addr) in &running {
        let big = runtime.block_on(echo(addr, process.pid(), large, Protocol::Raw))?;
        record(LARGE_RATE, *server, big.rate);
        record(LARGE_CPU, *server, big.cpu);
    }
    for (server, process, addr) in &running {
        let sse = runtime.block_on(sse(addr, process.pid(), sizes))?;
        record(SSE_RATE, *server, sse.rate);
        record(SSE_CPU, *server, sse.cpu);
    }
    drop(running);
    let server = Server::Nitrous;
    // What retaining the topic costs: the same fan-out, each message kept and numbered.
    let (running, addr) = server.start(None, true)?;
    let fan = runtime.block_on(fan_out(&addr, &addr, running.pid(), sizes, Protocol::Raw))?;
    record(RETAINED_RATE, server, fan.rate);
    record(RETAINED_CPU, server, fan.cpu);
    drop(running);
    // What recording metrics costs: echo and fan-out with a recorder installed.
    let (running, addr) = server.start_recorded()?;
    let pid = running.pid();
    let chat = runtime.block_on(echo(&addr, pid, small, Protocol::Raw))?;
    record(RECORDED_ECHO_CPU, server, chat.cpu_ns);
    let fan = runtime.block_on(fan_out(&addr, &addr, pid, sizes, Protocol::Raw))?;
    record(RECORDED_FAN_CPU, server, fan.cpu_ns);
    Ok(())
}

struct Echo {
    rate: f64,
    p50: f64,
    p99: f64,
    cpu: f64,
    /// `cpu` by the scheduler's nanosecond accounting ([`Cpu`]).
    cpu_ns: f64,
    /// The server's CPU over the run's wall time, in percent of one CPU.
    busy: f64,
}

/// An echo run: how many clients, messages each, and bytes per message.
#[derive(Clone, Copy)]
struct Load {
    clients: usize,
    messages: usize,
    size: usize,
}

/// C clients in a closed loop, each sending M texts of S bytes and waiting for each echo, through
/// `/ws/echo` or (`Protocol::Channel`) its typed twin, whose texts are `S` bytes or as many as
/// make its frames `S` bytes ([`Protocol::text_len`]).
async fn echo(addr: &str, pid: u32, load: Load, protocol: Protocol) -> Result<Echo, Failure> {
    let url = format!("ws://{addr}{}", protocol.route("echo"));
    let mut clients = Vec::new();
    for _ in 0..load.clients {
        clients.push(protocol.connect(&url).await?);
    }
    let message = protocol.frame(&"e".repeat(protocol.text_len(load.size)));
    let cpu_before = Cpu::read(pid)?;
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let message = message.clone();
            tokio::spawn(async move {
                let mut rtts = Vec::with_capacity(load.messages);
                for _ in 0..load.messages {
                    let sent = Instant::now();
                    client
                        .send(message.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    loop {
                        match bounded(client.next()).await {
                            Some(Some(Ok(Message::Text(text)))) => match protocol.reply(&text) {
                                Ok(Some(_)) => break,
                                Ok(None) => continue,
                                Err(e) => return Err(format!("echo: {e}")),
                            },
                            Some(Some(Ok(_))) => continue,
                            other => return Err(format!("echo ended: {other:?}")),
                        }
                    }
                    rtts.push(sent.elapsed().as_secs_f64() * 1e6);
                }
                Ok::<_, String>(rtts)
            })
        })
        .collect();
    let mut rtts = Vec::new();
    for task in tasks {
        rtts.extend(
            task.await
                .map_err(|e| Failure::Failed(e.to_string()))?
                .map_err(Failure::Failed)?,
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = Cpu::read(pid)?.since(cpu_before);
    let messages = (load.clients * load.messages) as f64;
    rtts.sort_by(f64::total_cmp);
    Ok(Echo {
        rate: messages / elapsed,
        p50: percentile(&rtts, 0.5),
        p99: percentile(&rtts, 0.99),
        cpu: cpu.ticks / messages * 1e6,
        cpu_ns: cpu.exact / messages * 1e6,
        busy: cpu.exact / elapsed * 100.0,
    })
}

struct FanOut {
    rate: f64,
    p99: f64,
    cpu: f64,
    /// `cpu` by the scheduler's nanosecond accounting ([`Cpu`]).
    cpu_ns: f64,
    lost: f64,
}

/// N subscribers on `sub_addr`; one publisher on `pub_addr` bursts M messages of 52 bytes (53
/// after the first 10 s), each carrying its send time; every subscriber should get every message.
/// Through `/ws/fan` or (`Protocol::Channel`) its typed twin, the padding sized as for the echo.
async fn fan_out(
    pub_addr: &str,
    sub_addr: &str,
    pid: u32,
    sizes: Sizes,
    protocol: Protocol,
) -> Result<FanOut, Failure> {
    let route = protocol.route("fan");
    let mut subscribers = Vec::new();
    for _ in 0..sizes.fan_subscribers {
        let mut client = protocol.connect(&format!("ws://{sub_addr}{route}")).await?;
        ready(&mut client, protocol).await?;
        subscribers.push(client);
    }
    let mut publisher = protocol.connect(&format!("ws://{pub_addr}{route}")).await?;
    ready(&mut publisher, protocol).await?;
    if pub_addr != sub_addr {
        // Across instances: wait until a probe message crosses, so the subscription is live.
        crossed(&mut publisher, &mut subscribers[0], protocol).await?;
        for subscriber in &mut subscribers[1..] {
            drain_probe(subscriber).await?;
        }
    }
    let origin = Instant::now();
    let expected = sizes.fan_messages;
    let receivers: Vec<_> = subscribers
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(expected);
                let mut last = origin;
                while latencies.len() < expected {
                    match tokio::time::timeout(Duration::from_secs(5), client.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            let Some(sent) = protocol.reply(&text).ok().flatten().and_then(|t| {
                                t.split(' ').next().and_then(|t| t.parse::<f64>().ok())
                            }) else {
                                continue;
                            };
                            let now = origin.elapsed().as_secs_f64();
                            latencies.push((now - sent) * 1e3);
                            last = Instant::now();
                        }
                        Ok(Some(Ok(_))) => continue,
                        _ => break, // quiet for 5 s, or closed: the rest is lost
                    }
                }
                (latencies, last)
            })
        })
        .collect();
    let cpu_before = Cpu::read(pid)?;
    let padding = "p".repeat(protocol.text_len(40));
    for _ in 0..sizes.fan_messages {
        let text = format!("{:.9} {padding}", origin.elapsed().as_secs_f64());
        publisher
            .feed(protocol.frame(&text))
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
    }
    publisher
        .flush()
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut latencies = Vec::new();
    let mut last = origin;
    for receiver in receivers {
        let (got, at) = receiver.await.map_err(|e| Failure::Failed(e.to_string()))?;
        latencies.extend(got);
        last = last.max(at);
    }
    let cpu = Cpu::read(pid)?.since(cpu_before);
    let delivered = latencies.len() as f64;
    let expected = (sizes.fan_subscribers * sizes.fan_messages) as f64;
    latencies.sort_by(f64::total_cmp);
    let elapsed = last.duration_since(origin).as_secs_f64().max(1e-9);
    Ok(FanOut {
        rate: delivered / elapsed,
        p99: percentile(&latencies, 0.99),
        cpu: cpu.ticks / delivered.max(1.0) * 1e6,
        cpu_ns: cpu.exact / delivered.max(1.0) * 1e6,
        lost: expected - delivered,
    })
}

struct Idle {
    per_connection: f64,
    after_close: f64,
    second_wave: f64,
    handshakes: f64,
    /// Server CPU per handshake in µs, by the scheduler's nanoseconds ([`Cpu`]).
    handshake_cpu: f64,
}

/// K open, silent connections: the server's RSS per connection, the handshake rate and its CPU
/// per handshake, and the RSS once they have closed.
async fn idle(addr: &str, pid: u32, sizes: Sizes) -> Result<Idle, Failure> {
    let url = format!("ws://{addr}/ws/echo");
    // One connection first, so one-time allocations do not count per connection.
    let warm = connect(&url).await?;
    let start_rss = rss_kib(pid)?;
    let first = wave(&url, pid, sizes.idle_connections).await?;
    // The same again: memory freed by the first wave should serve the second.
    let second = wave(&url, pid, sizes.idle_connections).await?;
    drop(warm);
    Ok(Idle {
        per_connection: (first.open_rss - start_rss) / sizes.idle_connections as f64,
        after_close: first.settled_rss - start_rss,
        second_wave: second.open_rss - first.open_rss,
        handshakes: first.handshakes,
        handshake_cpu: first.handshake_cpu,
    })
}

/// Connections that each echo one 64 KiB binary message and then stay open, silent: the server's
/// RSS per connection (whatever its buffers grew to and kept). A tenth as many as the idle wave,
/// 8 at a time, so that what one gives back can serve the next rather than all growing at once.
async fn echoed(addr: &str, pid: u32, sizes: Sizes) -> Result<f64, Failure> {
    let url = format!("ws://{addr}/ws/echo");
    let count = (sizes.idle_connections / 10).max(1);
    let warm = connect(&url).await?;
    let start_rss = rss_kib(pid)?;
    let large = Message::Binary(vec![0x5a; 64 << 10].into());
    let mut open = Vec::with_capacity(count);
    let mut pending = futures_util::stream::iter(0..count)
        .map(|_| {
            let large = large.clone();
            let url = url.clone();
            async move {
                let mut client = connect(&url).await?;
                let fail = |e: String| Failure::Failed(format!("64 KiB echo: {e}"));
                client.send(large).await.map_err(|e| fail(e.to_string()))?;
                match client.next().await {
                    Some(Ok(Message::Binary(echo))) if echo.len() == 64 << 10 => Ok(client),
                    other => Err(fail(format!("got {other:?}"))),
                }
            }
        })
        .buffer_unordered(8);
    while let Some(client) = pending.next().await {
        open.push(client?);
    }
    let open_rss = rss_kib(pid)?;
    drop((open, warm));
    Ok((open_rss - start_rss) / count as f64)
}

/// One wave of idle connections: what it cost while open, and what was left once it closed.
struct Wave {
    handshakes: f64,
    /// Server CPU per handshake while opening, in µs by the scheduler's nanoseconds (a wave of
    /// 10,000 at some 50 µs each is 50 ticks of 10 ms: too coarse to compare servers).
    handshake_cpu: f64,
    open_rss: f64,
    settled_rss: f64,
}

/// Opens `count` silent connections, 64 handshakes at a time, then closes them all.
async fn wave(url: &str, pid: u32, count: usize) -> Result<Wave, Failure> {
    let cpu_before = Cpu::read(pid)?;
    let start = Instant::now();
    let mut open = Vec::with_capacity(count);
    let mut pending = futures_util::stream::iter(0..count)
        .map(|_| connect(url))
        .buffer_unordered(64);
    while let Some(client) = pending.next().await {
        open.push(client?);
    }
    let handshakes = count as f64 / start.elapsed().as_secs_f64();
    let handshake_cpu = Cpu::read(pid)?.since(cpu_before).exact / count as f64 * 1e6;
    let open_rss = rss_kib(pid)?;
    for mut client in open {
        let _ = client.close(None).await;
    }
    // Let the server finish closing: measure once its RSS stops falling (bounded).
    let mut settled_rss = rss_kib(pid)?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = rss_kib(pid)?;
        if now >= settled_rss {
            break;
        }
        settled_rss = now;
    }
    Ok(Wave {
        handshakes,
        handshake_cpu,
        open_rss,
        settled_rss,
    })
}

struct SseRun {
    rate: f64,
    cpu: f64,
}

/// K clients each reading a stream of E 64-byte events as fast as they can.
async fn sse(addr: &str, pid: u32, sizes: Sizes) -> Result<SseRun, Failure> {
    let cpu_before = cpu_seconds(pid)?;
    let start = Instant::now();
    let tasks: Vec<_> = (0..sizes.sse_clients)
        .map(|_| {
            let addr = addr.to_owned();
            tokio::spawn(async move { read_events(&addr, sizes.sse_events).await })
        })
        .collect();
    let mut events = 0;
    for task in tasks {
        events += task.await.map_err(|e| Failure::Failed(e.to_string()))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid)? - cpu_before;
    let expected = sizes.sse_clients * sizes.sse_events;
    if events != expected {
        return Err(Failure::Failed(format!(
            "sse: read {events} events, expected {expected}"
        )));
    }
    Ok(SseRun {
        rate: events as f64 / elapsed,
        cpu: cpu / events as f64 * 1e6,
    })
}

/// Reads one event stream to its end over a raw socket and counts its `data: ` lines.
async fn read_events(addr: &str, count: usize) -> Result<usize, Failure> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let request =
        format!("GET /api/sse?n={count} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let needle = b"data: ";
    let mut matched = 0;
    let mut events = 0;
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .map_err(|_| Failure::Failed("sse: no data for 10 s".to_owned()))?
            .map_err(|e| Failure::Failed(e.to_string()))?;
        if read == 0 {
            return Ok(events);
        }
        for &byte in &buffer[..read] {
            // `data: ` has no repeated prefix, so a mismatch restarts at this byte.
            matched = if byte == needle[matched] {
                matched + 1
            } else if byte == needle[0] {
                1
            } else {
                0
            };
            if matched == needle.len() {
                events += 1;
                matched = 0;
            }
        }
    }
}

/// Fan-out with the publisher on one nitrous instance and the subscribers on another, through a
/// `redis-server` started for it (the topic retained, in Redis Streams, with `retain`); `None`
/// when `redis-server` is not installed.
fn cross_instance(
    runtime: &tokio::runtime::Runtime,
    sizes: Sizes,
    retain: bool,
) -> Result<Option<FanOut>, Failure> {
    let Some(redis) = redis_server()? else {
        return Ok(None);
    };
    let (_one, one) = Server::Nitrous.start(Some(&redis), retain)?;
    let (two, two_addr) = Server::Nitrous.start(Some(&redis), retain)?;
    let run = runtime.block_on(fan_out(&one, &two_addr, two.pid(), sizes, Protocol::Raw))?;
    Ok(Some(run))
}

/// A `redis-server` for the bench; `None` when it is not installed.
fn redis_server() -> Result<Option<RedisServer>, Failure> {
    if !RedisServer::installed() {
        eprintln!("bench: no redis-server on the PATH; skipping the figures through Redis");
        return Ok(None);
    }
    Ok(Some(RedisServer::start()?))
}

async fn connect(url: &str) -> Result<Client, Failure> {
    connect_offering(url, None).await
}

/// Connects to `url`, offering the WebSocket subprotocol `protocol` when there is one.
async fn connect_offering(url: &str, protocol: Option<&'static str>) -> Result<Client, Failure> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::Failed(format!("connect {url}: {e}")))?;
    if let Some(protocol) = protocol {
        request
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    }
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Ok(Ok((client, _))) => Ok(client),
        Ok(Err(e)) => Err(Failure::Failed(format!("connect {url}: {e}"))),
        Err(_) => Err(Failure::Failed(format!("connect {url}: timed out"))),
    }
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn bounded<F: std::future::Future>(future: F) -> Option<F::Output> {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .ok()
}

/// Waits for the fan route's `ready`.
async fn ready(client: &mut Client, protocol: Protocol) -> Result<(), Failure> {
    loop {
        match bounded(client.next()).await {
            Some(Some(Ok(Message::Text(text))))
                if protocol.reply(&text).ok().flatten().as_deref() == Some("ready") =>
            {
                return Ok(());
            }
            Some(Some(Ok(_))) => continue,
            other => return Err(Failure::Failed(format!("fan: no ready: {other:?}"))),
        }
    }
}

/// Sends probes until one reaches `subscriber` (the other instance has subscribed in Redis).
async fn crossed(
    publisher: &mut Client,
    subscriber: &mut Client,
    protocol: Protocol,
) -> Result<(), Failure> {
    for _ in 0..100 {
        publisher
            .send(protocol.frame("probe"))
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(100), subscriber.next()).await
            && protocol.reply(&text).ok().flatten().as_deref() == Some("probe")
        {
            return drain_probe(subscriber).await;
        }
    }
    Err(Failure::Failed(
        "the cross-instance subscription never went live".to_owned(),
    ))
}

/// Reads away the probes that reached a subscriber, until 200 ms pass without one.
async fn drain_probe(subscriber: &mut Client) -> Result<(), Failure> {
    while let Ok(Some(Ok(_))) =
        tokio::time::timeout(Duration::from_millis(200), subscriber.next()).await
    {}
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// User plus system CPU time of process `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, Failure> {
    let (user, system) = user_and_system(pid)?;
    Ok(user + system)
}

/// User and system CPU time of process `pid`, in seconds (`/proc/PID/stat` fields 14 and 15).
fn user_and_system(pid: u32) -> Result<(f64, f64), Failure> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| Failure::Failed(format!("/proc/{pid}/stat: {e}")))?;
    // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((ticks(11) / clock_ticks(), ticks(12) / clock_ticks()))
}

/// A process's CPU time so far, two ways: [`cpu_seconds`], in the 10 ms ticks every figure of
/// the bench has used, and the scheduler's own nanoseconds on the CPU (the first field of
/// `/proc/PID/task/TID/schedstat`, summed over the process's threads), which a run of 0.2 s
/// of CPU (fan-out, 20 ticks) needs to compare within a few percent. A thread that exits during a
/// run takes its nanoseconds with it; the bench servers' threads (tokio's workers) do not exit.
#[derive(Clone, Copy)]
struct Cpu {
    ticks: f64,
    /// Of `ticks`, user space.
    user: f64,
    exact: f64,
}

impl Cpu {
    fn read(pid: u32) -> Result<Cpu, Failure> {
        let (user, system) = user_and_system(pid)?;
        Ok(Cpu {
            ticks: user + system,
            user,
            exact: scheduled_seconds(pid)?,
        })
    }

    /// The CPU time spent since `before`, in seconds.
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            ticks: self.ticks - before.ticks,
            user: self.user - before.user,
            exact: self.exact - before.exact,
        }
    }
}

/// Time on the CPU of every live thread of process `pid`, in seconds, to the nanosecond.
fn scheduled_seconds(pid: u32) -> Result<f64, Failure> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| Failure::Failed(format!("{dir}: {e}")))?;
    let mut nanos = 0u64;
    for task in tasks.flatten() {
        // A thread that ended since the listing has nothing more to add.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(nanos as f64 / 1e9)
}

/// `getconf CLK_TCK`: 100 on Linux.
fn clock_ticks() -> f64 {
    100.0
}

/// Resident memory of process `pid` in KiB, as the figures hold it.
fn rss_kib(pid: u32) -> Result<f64, Failure> {
    Ok(nitrous_support::rss_kib(pid)? as f64)
}

/// `other` over `base`, sample by sample (the same round and turn, seconds apart), skipping a
/// sample whose base is 0 (lost deliveries); none unless both have the same samples.
fn paired_ratios(base: &[f64], other: &[f64]) -> Vec<f64> {
    if base.len() != other.len() {
        return Vec::new();
    }
    base.iter()
        .zip(other)
        .filter(|(b, _)| **b != 0.0)
        .map(|(b, o)| o / b)
        .collect()
}

/// Median, min and max.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    )
}

/// Prints the side-by-side table and writes every sample to `out`.
fn report(samples: &Samples, channels: &channel::Samples, out: &Path) -> Result<PathBuf, Failure> {
    if let Some(cpus) = pin::server_cpus() {
        println!("\nservers pinned to CPUs {cpus} ({})", pin::SERVER_CPUS_ENV);
    }
    println!(
        "\n{:<52} {:>22} {:>22} {:>22} {:>22} {:>9} {:>9} {:>9} {:>12}",
        "figure",
        "nitrous",
        "axum tuned",
        "axum default",
        "bun",
        "n/tuned",
        "n/default",
        "n/bun",
        "n/bun, turns"
    );
    let mut json = serde_json::Map::new();
    for (figure, by_server) in samples {
        let cell = |server: Server| match by_server.get(&server) {
            Some(values) if !values.is_empty() => {
                let (median, min, max) = summary(values);
                (
                    format!("{} ({}-{})", short(median), short(min), short(max)),
                    Some(median),
                )
            }
            _ => ("-".to_owned(), None),
        };
        let (n, n_median) = cell(Server::Nitrous);
        let (t, t_median) = cell(Server::AxumTuned);
        let (d, d_median) = cell(Server::AxumDefault);
        let (b, b_median) = cell(Server::Bun);
        let ratio = |base: Option<f64>| match (n_median, base) {
            (Some(n), Some(b)) if b != 0.0 => format!("{:.2}x", n / b),
            _ => "-".to_owned(),
        };
        // The median of the turns' own ratios: the VM's drift between turns falls out of it.
        let turns = match (by_server.get(&Server::Bun), by_server.get(&Server::Nitrous)) {
            (Some(bun), Some(nitrous)) => paired_ratios(bun, nitrous),
            _ => Vec::new(),
        };
        let turns = if turns.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}x", summary(&turns).0)
        };
        let label = if figure.unit.is_empty() {
            figure.name.to_owned()
        } else {
            format!("{} [{}]", figure.name, figure.unit)
        };
        println!(
            "{label:<52} {n:>22} {t:>22} {d:>22} {b:>22} {:>9} {:>9} {:>9} {turns:>12}",
            ratio(t_median),
            ratio(d_median),
            ratio(b_median)
        );
        let mut entry = serde_json::Map::new();
        entry.insert("unit".into(), figure.unit.into());
        entry.insert("higher_is_better".into(), figure.higher_is_better.into());
        for (server, values) in by_server {
            entry.insert(server.name().into(), serde_json::json!(values));
        }
        json.insert(figure.name.into(), entry.into());
    }
    channel::report(channels, &mut json);
    let path = out.join("load.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| Failure::Failed(e.to_string()))?;
    std::fs::create_dir_all(out).map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    std::fs::write(&path, text).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    Ok(path)
}

fn short(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_pair_samples_and_skip_a_zero_base() {
        assert_eq!(
            paired_ratios(&[2.0, 0.0, 4.0], &[3.0, 1.0, 4.0]),
            vec![1.5, 1.0]
        );
    }

    #[test]
    fn samples_that_do_not_pair_give_no_ratio() {
        assert!(paired_ratios(&[2.0, 4.0], &[3.0]).is_empty());
    }
}
