//! Rooms at scale over sockets (`bench-load rooms [--quick] OUT_DIR`): as many WebSocket
//! connections as the server's open-file limit allows, all in one topic (`/ws/room`), opened at a
//! steady pace a tenth at a time from several client processes ([`room_clients`]), then:
//!
//! - the server's RSS per connection, and its CPU per new connection in each tenth;
//! - echo round trips of a few more clients while they are all open;
//! - one publish to all (`POST /api/room`): the time until every client has it, and the server's
//!   CPU per delivery;
//! - everyone leaving, a tenth at a time, the last to join first: the server's CPU per leave;
//! - then one peer in 10,000 topics ([`many_topics`]).
//!
//! Server CPU and RSS come from its `/proc/PID/stat` and `/proc/PID/status`, as for the other
//! workloads. Prints a table and writes it, with every tenth, to `OUT_DIR/rooms.json`.
//!
//! [`room_clients`]: crate::room_clients
//! [`many_topics`]: crate::many_topics

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::many_topics::{self, ManyTopics};
use crate::room_clients::ClientProcess;
use crate::{Failure, cpu_seconds, percentile, rss_kib};

/// Open files kept free under a process's limit: the server's own (listener, epoll, stdio), the
/// probes', the HTTP requests' that count the room, and headroom.
const RESERVE: usize = 1_000;

/// The most a last tenth may cost over a first tenth (issue 26).
const TENTHS_TARGET: f64 = 1.5;

/// How much load: `--quick` only checks that everything runs.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// At most this many connections, below what the open-file limit allows.
    cap: Option<usize>,
    /// New connections a second, over all client processes.
    rate: f64,
    echo_clients: usize,
    echo_messages: usize,
    publishes: usize,
    topics: usize,
}

impl Plan {
    const FULL: Plan = Plan {
        cap: None,
        rate: 1_000.0,
        echo_clients: 10,
        echo_messages: 200,
        publishes: 5,
        topics: 10_000,
    };
    const QUICK: Plan = Plan {
        cap: Some(2_000),
        rate: 2_000.0,
        echo_clients: 4,
        echo_messages: 50,
        publishes: 2,
        topics: 2_000,
    };
}

/// `bench-load rooms [--quick] OUT_DIR`.
pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let Some((quick, out)) = super::quick_and_out(args) else {
        eprintln!("usage: bench-load rooms [--quick] OUT_DIR");
        return std::process::ExitCode::from(2);
    };
    let plan = if quick { Plan::QUICK } else { Plan::FULL };
    super::finish(
        "bench-load rooms",
        run(plan).and_then(|rooms| report(&rooms, Path::new(out))),
    )
}

/// One tenth of the connections opening, or leaving.
#[derive(Clone, Debug, Default)]
struct Tenth {
    /// Connections that opened (or left) in it.
    count: usize,
    failed: usize,
    /// Server CPU seconds, and wall seconds, it took.
    cpu: f64,
    wall: f64,
    /// Connect-to-`ready` times (µs), when opening.
    latencies: Vec<f64>,
}

impl Tenth {
    /// Server CPU per connection, µs.
    fn cpu_each(&self) -> f64 {
        self.cpu / self.count.max(1) as f64 * 1e6
    }
}

/// One publish to the room.
#[derive(Clone, Copy, Debug)]
struct Publish {
    reached: usize,
    /// Until `POST /api/room` answered (the publish call is done), and until every client
    /// process said all its connections had the message.
    answered: f64,
    to_all: f64,
    cpu: f64,
    lost: usize,
}

#[derive(Debug)]
struct Rooms {
    server_limit: usize,
    processes: usize,
    target: usize,
    /// By tenth, in order.
    opening: Vec<Tenth>,
    rss_start: f64,
    rss_open: f64,
    echo: Vec<f64>,
    echo_clients: usize,
    publishes: Vec<Publish>,
    /// By tenth of room sizes: slot 9 is the first tenth to leave, from the full room.
    leaving: Vec<Tenth>,
    topics: ManyTopics,
}

impl Rooms {
    fn opened(&self) -> usize {
        self.opening.iter().map(|t| t.count).sum()
    }
}

fn run(plan: Plan) -> Result<Rooms, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("tokio: {e}")))?;
    let (server, addr) = crate::Server::Nitrous.start(None, false)?;
    let pid = server.pid();

    let server_limit = open_file_limit(&format!("/proc/{pid}/limits"))?;
    // The client processes inherit this one's limit.
    let client_limit = open_file_limit("/proc/self/limits")?;
    let mut target = server_limit.saturating_sub(RESERVE);
    if let Some(cap) = plan.cap {
        target = target.min(cap);
    }
    if target < 100 {
        return Err(Failure::Failed(format!(
            "an open-file limit of {server_limit} leaves no room for the workload"
        )));
    }
    let per_process = client_limit.saturating_sub(RESERVE).max(1);
    let processes = target.div_ceil(per_process).max(2);
    if processes > 200 {
        return Err(Failure::Failed(format!(
            "{target} connections at {per_process} a process need too many processes"
        )));
    }
    eprintln!(
        "bench: rooms: {target} connections (server open-file limit {server_limit}), from {processes} processes at {} a second",
        plan.rate
    );
    let url = format!("ws://{addr}/ws/room");
    let mut clients = (0..processes)
        .map(|i| {
            let last = u8::try_from(2 + i).unwrap_or(u8::MAX);
            ClientProcess::start(&url, IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // One connection and one request first, so one-time allocations do not count per connection.
    let _warm = runtime.block_on(crate::connect(&format!("ws://{addr}/ws/echo")))?;
    expect_members(&addr, 0)?;
    let rss_start = rss_kib(pid)?;

    let rate_each = plan.rate / processes as f64;
    let mut opening = Vec::with_capacity(10);
    // Who opened what, by tenth and process, so they leave by the same tenths.
    let mut opened_by: Vec<Vec<usize>> = Vec::with_capacity(10);
    for t in 0..10 {
        let count = split(target, t, 10);
        let cpu_before = cpu_seconds(pid)?;
        let start = Instant::now();
        for (p, client) in clients.iter_mut().enumerate() {
            client.send(&format!("open {} {rate_each}", split(count, p, processes)))?;
        }
        let patience =
            Duration::from_secs_f64(count as f64 / plan.rate * 2.0) + Duration::from_secs(60);
        let mut tenth = Tenth::default();
        let mut by_process = Vec::with_capacity(processes);
        for client in &clients {
            let (line, _) = client.reply(patience)?;
            let (ok, failed, latencies) = parse_opened(&line)?;
            tenth.count += ok;
            tenth.failed += failed;
            tenth.latencies.extend(latencies);
            by_process.push(ok);
        }
        tenth.wall = start.elapsed().as_secs_f64();
        tenth.cpu = cpu_seconds(pid)? - cpu_before;
        tenth.latencies.sort_by(f64::total_cmp);
        eprintln!(
            "bench: rooms: tenth {}: {} open ({} failed), {:.0} µs of server CPU each",
            t + 1,
            tenth.count,
            tenth.failed,
            tenth.cpu_each()
        );
        opening.push(tenth);
        opened_by.push(by_process);
    }
    let opened: usize = opening.iter().map(|t| t.count).sum();
    expect_members(&addr, opened)?;
    let rss_open = rss_kib(pid)?;

    eprintln!("bench: rooms: echo while they are open");
    let mut echo = runtime.block_on(echo_probes(&addr, plan))?;
    echo.sort_by(f64::total_cmp);
    wait_for_members(&addr, opened)?;

    eprintln!("bench: rooms: publish to all");
    let mut publishes = Vec::with_capacity(plan.publishes);
    for k in 0..plan.publishes {
        let text = format!("pub {k}");
        for client in &mut clients {
            client.send(&format!("expect {text}"))?;
        }
        let cpu_before = cpu_seconds(pid)?;
        let start = Instant::now();
        let reached = http(&addr, "POST", &text)?;
        let answered = start.elapsed().as_secs_f64();
        let reached: usize = reached
            .parse()
            .map_err(|_| Failure::Failed(format!("POST /api/room answered {reached:?}")))?;
        let mut last = start;
        let mut lost = 0;
        for client in &clients {
            let (line, at) = client.reply(Duration::from_secs(40))?;
            if let Some(missing) = line.strip_prefix("lost ") {
                lost += missing.parse::<usize>().unwrap_or(0);
            }
            last = last.max(at);
        }
        publishes.push(Publish {
            reached,
            answered,
            to_all: last.duration_since(start).as_secs_f64(),
            cpu: cpu_seconds(pid)? - cpu_before,
            lost,
        });
    }

    eprintln!("bench: rooms: everyone leaves, a tenth at a time");
    let mut leaving = vec![Tenth::default(); 10];
    let mut members = opened;
    for t in (0..10).rev() {
        let cpu_before = cpu_seconds(pid)?;
        let start = Instant::now();
        for (p, client) in clients.iter_mut().enumerate() {
            client.send(&format!("close {}", opened_by[t][p]))?;
        }
        let mut closed = 0;
        for client in &clients {
            let (line, _) = client.reply(Duration::from_secs(60))?;
            closed += line
                .strip_prefix("closed ")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Failure::Failed(format!("a room client answered {line:?}")))?;
        }
        members -= opening[t].count;
        wait_for_members(&addr, members)?;
        leaving[t] = Tenth {
            count: opening[t].count,
            failed: opening[t].count - closed.min(opening[t].count),
            cpu: cpu_seconds(pid)? - cpu_before,
            wall: start.elapsed().as_secs_f64(),
            latencies: Vec::new(),
        };
    }
    drop(clients);

    eprintln!("bench: rooms: one peer in {} topics", plan.topics);
    let topics = runtime.block_on(many_topics::run(&addr, plan.topics))?;
    Ok(Rooms {
        server_limit,
        processes,
        target,
        opening,
        rss_start,
        rss_open,
        echo,
        echo_clients: plan.echo_clients,
        publishes,
        leaving,
        topics,
    })
}

/// Part `i` of `n` of `total`, the parts adding up to it.
fn split(total: usize, i: usize, n: usize) -> usize {
    total * (i + 1) / n - total * i / n
}

/// `opened OK FAILED LATENCIES`.
fn parse_opened(line: &str) -> Result<(usize, usize, Vec<f64>), Failure> {
    let bad = || Failure::Failed(format!("a room client answered {line:?}"));
    let mut words = line.split(' ');
    let (Some("opened"), Some(ok), Some(failed), Some(latencies)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(bad());
    };
    let latencies = match latencies {
        "-" => Vec::new(),
        list => list
            .split(',')
            .map(|l| l.parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?,
    };
    Ok((
        ok.parse().map_err(|_| bad())?,
        failed.parse().map_err(|_| bad())?,
        latencies,
    ))
}

/// A few more room members, each sending texts in a closed loop while the room is full: the
/// round trips in µs. They leave afterwards.
async fn echo_probes(addr: &str, plan: Plan) -> Result<Vec<f64>, Failure> {
    let url = format!("ws://{addr}/ws/room");
    let mut probes = Vec::with_capacity(plan.echo_clients);
    for _ in 0..plan.echo_clients {
        let mut probe = crate::connect(&url).await?;
        crate::ready(&mut probe, crate::channel::Protocol::Raw).await?;
        probes.push(probe);
    }
    let payload = "e".repeat(64);
    let tasks: Vec<_> = probes
        .into_iter()
        .map(|mut probe| {
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut rtts = Vec::with_capacity(plan.echo_messages);
                for _ in 0..plan.echo_messages {
                    let sent = Instant::now();
                    probe
                        .send(Message::text(payload.as_str()))
                        .await
                        .map_err(|e| e.to_string())?;
                    loop {
                        match crate::bounded(probe.next()).await {
                            Some(Some(Ok(Message::Text(text)))) if text.len() == payload.len() => {
                                break;
                            }
                            Some(Some(Ok(_))) => continue,
                            other => return Err(format!("echo ended: {other:?}")),
                        }
                    }
                    rtts.push(sent.elapsed().as_secs_f64() * 1e6);
                }
                let _ = probe.close(None).await;
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
    Ok(rtts)
}

/// The room has `expected` members now.
fn expect_members(addr: &str, expected: usize) -> Result<(), Failure> {
    let counted = http(addr, "GET", "")?;
    if counted == expected.to_string() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "the room has {counted} members, not {expected}"
        )))
    }
}

/// Asks the server how many members the room has until it says `expected` (members leave when
/// the server has finished closing them), every 10 ms for at most 30 s.
fn wait_for_members(addr: &str, expected: usize) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut counted = String::new();
    while Instant::now() < deadline {
        counted = http(addr, "GET", "")?;
        if counted == expected.to_string() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(Failure::Failed(format!(
        "after 30 s the room has {counted} members, not {expected}"
    )))
}

/// `METHOD /api/room` with `body` on a connection of its own: the answer's body.
fn http(addr: &str, method: &str, body: &str) -> Result<String, Failure> {
    let failed = |e: std::io::Error| Failure::Failed(format!("{method} /api/room: {e}"));
    let mut stream = std::net::TcpStream::connect(addr).map_err(failed)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(failed)?;
    write!(
        stream,
        "{method} /api/room HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(failed)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(failed)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(Failure::Failed(format!(
            "{method} /api/room answered {response:?}"
        ))),
    }
}

/// The soft `Max open files` of a process's `limits` file.
fn open_file_limit(limits: &str) -> Result<usize, Failure> {
    let text =
        std::fs::read_to_string(limits).map_err(|e| Failure::Failed(format!("{limits}: {e}")))?;
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .ok_or_else(|| Failure::Failed(format!("no open-file limit in {limits}")))
}

/// One row of the table.
struct Row {
    figure: String,
    value: Option<f64>,
    unit: &'static str,
    note: String,
}

fn row(
    figure: impl Into<String>,
    value: Option<f64>,
    unit: &'static str,
    note: impl Into<String>,
) -> Row {
    Row {
        figure: figure.into(),
        value,
        unit,
        note: note.into(),
    }
}

/// A last-tenth-over-first-tenth ratio, with its verdict.
fn ratio(figure: impl Into<String>, ratio: Option<f64>, note: &str) -> Row {
    let verdict = match ratio {
        Some(r) if r <= TENTHS_TARGET => "met",
        Some(_) => "MISSED",
        None => "not measured",
    };
    row(
        figure,
        ratio,
        "x",
        format!("target <= {TENTHS_TARGET}x: {verdict}; {note}"),
    )
}

fn rows(rooms: &Rooms) -> Vec<Row> {
    let opened = rooms.opened();
    let failed: usize = rooms.opening.iter().map(|t| t.failed).sum();
    let first = &rooms.opening[0];
    let last = &rooms.opening[9];
    let opening_wall: f64 = rooms.opening.iter().map(|t| t.wall).sum();
    let room = format!("room of {opened} WebSocket connections");
    let mut rows = vec![
        row(
            format!("{room}: connections open"),
            Some(opened as f64),
            "",
            format!(
                "of {} ({} failed): the server's open-file limit {} less {RESERVE}; from {} processes, 127.0.0.2 on",
                rooms.target, failed, rooms.server_limit, rooms.processes
            ),
        ),
        row(
            format!("{room}: opening rate"),
            Some(opened as f64 / opening_wall),
            "/s",
            "paced by the clients",
        ),
        row(
            format!("{room}: server RSS per connection"),
            Some((rooms.rss_open - rooms.rss_start) / opened.max(1) as f64),
            "KiB",
            format!(
                "{} MiB with all open",
                crate::short(rooms.rss_open / 1024.0)
            ),
        ),
        row(
            format!("{room}: join, server CPU per connection, first tenth"),
            Some(first.cpu_each()),
            "µs",
            format!("{} connections, {:.2} s of CPU", first.count, first.cpu),
        ),
        row(
            format!("{room}: join, server CPU per connection, last tenth"),
            Some(last.cpu_each()),
            "µs",
            format!("{} connections, {:.2} s of CPU", last.count, last.cpu),
        ),
        ratio(
            format!("{room}: join, last tenth / first tenth"),
            (first.cpu > 0.0).then(|| last.cpu_each() / first.cpu_each()),
            "server CPU per connection (10 ms ticks)",
        ),
        row(
            format!("{room}: join, connect to ready p50, first / last tenth"),
            Some(percentile(&first.latencies, 0.5) / 1e3),
            "ms",
            format!(
                "last tenth {} ms; p99 {} / {} ms",
                crate::short(percentile(&last.latencies, 0.5) / 1e3),
                crate::short(percentile(&first.latencies, 0.99) / 1e3),
                crate::short(percentile(&last.latencies, 0.99) / 1e3)
            ),
        ),
        row(
            format!("{room}: echo p99 while all are open"),
            Some(percentile(&rooms.echo, 0.99)),
            "µs",
            format!(
                "p50 {} µs; {} clients, {} round trips",
                crate::short(percentile(&rooms.echo, 0.5)),
                rooms.echo_clients,
                rooms.echo.len()
            ),
        ),
    ];
    if let Some(first) = rooms.publishes.first() {
        let mut to_all: Vec<f64> = rooms.publishes.iter().map(|p| p.to_all).collect();
        to_all.sort_by(f64::total_cmp);
        let reached: usize = rooms.publishes.iter().map(|p| p.reached).sum();
        let cpu: f64 = rooms.publishes.iter().map(|p| p.cpu).sum();
        let lost: usize = rooms.publishes.iter().map(|p| p.lost).sum();
        rows.push(row(
            format!("{room}: one publish, until every client has it"),
            Some(first.to_all * 1e3),
            "ms",
            format!(
                "the first; median of {} {} ms; the publish call answered after {} ms; reached {}, lost {lost}",
                to_all.len(),
                crate::short(percentile(&to_all, 0.5) * 1e3),
                crate::short(first.answered * 1e3),
                first.reached
            ),
        ));
        rows.push(row(
            format!("{room}: one publish, server CPU per delivery"),
            Some(cpu / reached.max(1) as f64 * 1e6),
            "µs",
            format!(
                "{} publishes, {reached} deliveries, {cpu:.2} s of CPU",
                rooms.publishes.len()
            ),
        ));
    }
    let full = &rooms.leaving[9];
    let empty = &rooms.leaving[0];
    let leave_cpu: f64 = rooms.leaving.iter().map(|t| t.cpu).sum();
    let leave_wall: f64 = rooms.leaving.iter().map(|t| t.wall).sum();
    rows.extend([
        row(
            format!("{room}: leave, server CPU for all leaving"),
            Some(leave_cpu),
            "s",
            format!(
                "{} µs per leave; {} s from the first close to an empty room, a tenth at a time",
                crate::short(leave_cpu / opened.max(1) as f64 * 1e6),
                crate::short(leave_wall)
            ),
        ),
        row(
            format!("{room}: leave, server CPU per leave, first tenth to leave"),
            Some(full.cpu_each()),
            "µs",
            "from the full room (90-100%)",
        ),
        row(
            format!("{room}: leave, server CPU per leave, last tenth to leave"),
            Some(empty.cpu_each()),
            "µs",
            "from the room of 0-10%",
        ),
        ratio(
            format!("{room}: leave, first tenth to leave / last"),
            (empty.cpu > 0.0).then(|| full.cpu_each() / empty.cpu_each()),
            "the tenth at the largest room sizes over the one at the smallest",
        ),
    ]);
    let topics = &rooms.topics;
    let peer = format!("one WebSocket peer in {} topics", topics.topics);
    let per = |tenths: &[f64]| tenths.iter().sum::<f64>() / topics.topics.max(1) as f64 * 1e6;
    let growth = |tenths: &[f64]| match (tenths.first(), tenths.last()) {
        (Some(first), Some(last)) if *first > 0.0 => Some(last / first),
        _ => None,
    };
    rows.extend([
        row(
            format!("{peer}: subscribe, total"),
            Some(topics.subscribe.iter().sum::<f64>() * 1e3),
            "ms",
            format!("{} µs per topic", crate::short(per(&topics.subscribe))),
        ),
        ratio(
            format!("{peer}: subscribe, last tenth / first tenth"),
            growth(&topics.subscribe),
            "by the number of topics the peer is in",
        ),
        row(
            format!("{peer}: a publish to each, until received"),
            Some(topics.publish.iter().sum::<f64>() * 1e3),
            "ms",
            format!(
                "{} µs per message, a tenth of the topics at a time, the peer in all",
                crate::short(per(&topics.publish))
            ),
        ),
        ratio(
            format!("{peer}: a publish to each, last tenth / first tenth"),
            growth(&topics.publish),
            "the peer is in every topic throughout",
        ),
        row(
            format!("{peer}: unsubscribe, total"),
            Some(topics.unsubscribe.iter().sum::<f64>() * 1e3),
            "ms",
            format!(
                "{} µs per topic, the last subscribed first",
                crate::short(per(&topics.unsubscribe))
            ),
        ),
        ratio(
            format!("{peer}: unsubscribe, first tenth / last tenth"),
            match (topics.unsubscribe.first(), topics.unsubscribe.last()) {
                (Some(first), Some(last)) if *last > 0.0 => Some(first / last),
                _ => None,
            },
            "the peer in the most topics over the fewest",
        ),
    ]);
    rows
}

/// Prints the table and writes it, with every tenth, to `out/rooms.json`.
fn report(rooms: &Rooms, out: &Path) -> Result<std::path::PathBuf, Failure> {
    let rows = rows(rooms);
    let width = rows.iter().map(|r| r.figure.len()).max().unwrap_or(0);
    println!("\n{:<width$} {:>10} {:<4} note", "figure", "value", "unit");
    for r in &rows {
        let value = r.value.map_or_else(|| "-".to_owned(), crate::short);
        println!("{:<width$} {value:>10} {:<4} {}", r.figure, r.unit, r.note);
    }
    let tenth = |t: &Tenth| {
        serde_json::json!({
            "connections": t.count,
            "failed": t.failed,
            "server_cpu_seconds": t.cpu,
            "wall_seconds": t.wall,
            "connect_to_ready_p50_us": (!t.latencies.is_empty()).then(|| percentile(&t.latencies, 0.5)),
            "connect_to_ready_p99_us": (!t.latencies.is_empty()).then(|| percentile(&t.latencies, 0.99)),
        })
    };
    let json = serde_json::json!({
        "figures": rows.iter().map(|r| serde_json::json!({
            "figure": r.figure, "value": r.value, "unit": r.unit, "note": r.note,
        })).collect::<Vec<_>>(),
        "details": {
            "server_open_file_limit": rooms.server_limit,
            "client_processes": rooms.processes,
            "server_rss_kib": { "start": rooms.rss_start, "all_open": rooms.rss_open },
            "opening_by_tenth": rooms.opening.iter().map(tenth).collect::<Vec<_>>(),
            "leaving_by_tenth_of_room_size": rooms.leaving.iter().map(tenth).collect::<Vec<_>>(),
            "publishes": rooms.publishes.iter().map(|p| serde_json::json!({
                "reached": p.reached, "answered_seconds": p.answered,
                "to_all_seconds": p.to_all, "server_cpu_seconds": p.cpu, "lost": p.lost,
            })).collect::<Vec<_>>(),
            "echo_round_trips_us": rooms.echo,
            "many_topics": {
                "topics": rooms.topics.topics,
                "subscribe_seconds_by_tenth": rooms.topics.subscribe,
                "publish_seconds_by_tenth": rooms.topics.publish,
                "unsubscribe_seconds_by_tenth_last_first": rooms.topics.unsubscribe,
            },
        },
    });
    std::fs::create_dir_all(out).map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    let path = out.join("rooms.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| Failure::Failed(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_of_a_split_add_up_to_the_whole() {
        for total in [0, 1, 9, 10, 19_000, 19_001] {
            for n in [1, 2, 3, 10] {
                let parts: Vec<usize> = (0..n).map(|i| split(total, i, n)).collect();
                assert_eq!(parts.iter().sum::<usize>(), total);
                assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn an_opened_reply_is_read_back() {
        let (ok, failed, latencies) = parse_opened("opened 2 1 150,2300").unwrap();
        assert_eq!((ok, failed, latencies), (2, 1, vec![150.0, 2300.0]));
        assert!(parse_opened("opened 0 3 -").unwrap().2.is_empty());
        assert!(parse_opened("closed 3").is_err());
    }
}
