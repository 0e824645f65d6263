//! `bench-load profile [--quick] OUT_DIR [WORKLOAD...]`: where each server's CPU goes, workload
//! by workload (all four unless some are named).
//! Each server (nitrous, tuned axum, Bun) runs each workload of the main bench once, with
//! `perf record` attached to it for the workload alone (started disabled and switched on and off
//! through its control FIFO, so neither the server's start nor the clients' set-up count). The VM
//! has no hardware counters, so perf samples the CPU clock: shares of time, not instructions.
//!
//! Beside it, `perf stat` counts the system calls and context switches, which the table gives per
//! unit of work (message, delivery, handshake, event).
//!
//! Writes `OUT_DIR/profile/WORKLOAD-SERVER.data` and `perf report`'s flat listing beside it, and
//! prints, per workload, each server's samples sorted into the parts of a stack (kernel, allocator,
//! runtime, HTTP, WebSocket, the app) by [`part`], and the counts per unit.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nitrous_support::{Process, Signal};

use crate::channel::Protocol;
use crate::{
    Failure, Load, Server, Sizes, bun, echo, fan_out, finish, quick_and_out, runtime, sse,
};

/// The workloads profiled, as the main bench runs them.
#[derive(Clone, Copy, Debug)]
enum Workload {
    Echo,
    FanOut,
    Handshakes,
    Sse,
}

impl Workload {
    const ALL: [Workload; 4] = [
        Workload::Echo,
        Workload::FanOut,
        Workload::Handshakes,
        Workload::Sse,
    ];

    fn named(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::FanOut => "fan-out",
            Workload::Handshakes => "handshakes",
            Workload::Sse => "sse",
        }
    }

    /// What the counts are divided by.
    fn unit(self) -> &'static str {
        match self {
            Workload::Echo => "message",
            Workload::FanOut => "delivery",
            // The wave closes what it opened, inside the profiled window.
            Workload::Handshakes => "connection opened and closed",
            Workload::Sse => "event",
        }
    }

    /// Runs the workload against the server at `addr` (process `pid`); returns how many
    /// [`unit`](Workload::unit)s it served.
    fn run(
        self,
        runtime: &tokio::runtime::Runtime,
        addr: &str,
        pid: u32,
        sizes: Sizes,
    ) -> Result<f64, Failure> {
        let units = match self {
            Workload::Echo => {
                let load = Load {
                    clients: sizes.echo_clients,
                    messages: sizes.echo_messages,
                    size: 64,
                };
                runtime.block_on(echo(addr, pid, load, Protocol::Raw))?;
                load.clients * load.messages
            }
            Workload::FanOut => {
                runtime.block_on(fan_out(addr, addr, pid, sizes, Protocol::Raw))?;
                sizes.fan_subscribers * sizes.fan_messages
            }
            Workload::Handshakes => {
                let url = format!("ws://{addr}/ws/echo");
                runtime.block_on(crate::wave(&url, pid, sizes.idle_connections))?;
                sizes.idle_connections
            }
            Workload::Sse => {
                runtime.block_on(sse(addr, pid, sizes))?;
                sizes.sse_clients * sizes.sse_events
            }
        };
        Ok(units as f64)
    }
}

/// `[--quick] OUT_DIR [WORKLOAD...]`: every workload unless some are named.
pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let named = args
        .iter()
        .rev()
        .take_while(|arg| Workload::named(arg).is_some())
        .count();
    let (args, names) = args.split_at(args.len() - named);
    let Some((quick, out)) = quick_and_out(args) else {
        eprintln!("usage: bench-load profile [--quick] OUT_DIR [echo|fan-out|handshakes|sse ...]");
        return std::process::ExitCode::from(2);
    };
    let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
    let mut workloads: Vec<Workload> = names.iter().filter_map(|n| Workload::named(n)).collect();
    if workloads.is_empty() {
        workloads = Workload::ALL.to_vec();
    }
    finish(
        "bench-load profile",
        profile(sizes, &workloads, Path::new(out)),
    )
}

fn profile(sizes: Sizes, workloads: &[Workload], out: &Path) -> Result<PathBuf, Failure> {
    let dir = out.join("profile");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Failed(format!("{}: {e}", dir.display())))?;
    let runtime = runtime()?;
    let mut servers = vec![Server::Nitrous, Server::AxumTuned];
    if bun().is_some() {
        servers.push(Server::Bun);
    }
    let mut summary = String::new();
    for &workload in workloads {
        let mut parts: BTreeMap<Server, BTreeMap<&'static str, f64>> = BTreeMap::new();
        let mut per_unit: BTreeMap<Server, BTreeMap<&'static str, f64>> = BTreeMap::new();
        for &server in &servers {
            eprintln!("profile: {} on {}", workload.name(), server.name());
            let stem = format!("{}-{}", workload.name(), server.name().replace(' ', "-"));
            let data = dir.join(format!("{stem}.data"));
            let counts = dir.join(format!("{stem}.counts"));
            let (running, addr) = server.start(None, false)?;
            let recorder = Perf::record(running.pid(), &data, &dir)?;
            let counter = Perf::count(running.pid(), &counts, &dir)?;
            for perf in [&recorder, &counter] {
                perf.switch("enable")?;
            }
            let units = workload.run(&runtime, &addr, running.pid(), sizes)?;
            for perf in [&recorder, &counter] {
                perf.switch("disable")?;
            }
            recorder.stop()?;
            counter.stop()?;
            drop(running);
            let counted = read_counts(&counts)?;
            per_unit.insert(
                server,
                counted.iter().map(|(k, v)| (*k, v / units)).collect(),
            );
            let listing = report(&data)?;
            let text = dir.join(format!("{stem}.txt"));
            std::fs::write(&text, &listing)
                .map_err(|e| Failure::Failed(format!("{}: {e}", text.display())))?;
            parts.insert(server, shares(&listing));
        }
        summary.push_str(&table(
            &format!("{}: share of CPU samples", workload.name()),
            &parts,
            |share| format!("{share:.1}%"),
        ));
        summary.push_str(&table(
            &format!("{}: per {}", workload.name(), workload.unit()),
            &per_unit,
            // Three significant figures: a fan-out's CPU per delivery is a tenth of a µs.
            |count| match count.abs() {
                c if c != 0.0 && c < 1.0 => format!("{count:.3}"),
                _ => format!("{count:.2}"),
            },
        ));
    }
    println!("{summary}");
    let path = dir.join("summary.md");
    std::fs::write(&path, summary)
        .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// `perf record` or `perf stat` attached to one process, its events off until switched on.
struct Perf {
    perf: Process,
    control: File,
    ack: File,
    /// `record` or `stat`.
    name: &'static str,
}

impl Perf {
    /// `perf record`, sampling the CPU clock into `data`.
    fn record(pid: u32, data: &Path, dir: &Path) -> Result<Perf, Failure> {
        let mut args = vec!["record", "--quiet", "-F", "1999", "-o"];
        args.push(data.to_str().unwrap_or_default());
        Perf::attach(pid, &args, dir, "record")
    }

    /// `perf stat`, counting [`COUNTED`] into `out` as CSV.
    fn count(pid: u32, out: &Path, dir: &Path) -> Result<Perf, Failure> {
        let mut args = vec!["stat", "-x", ",", "-e", COUNTED, "-o"];
        args.push(out.to_str().unwrap_or_default());
        Perf::attach(pid, &args, dir, "stat")
    }

    fn attach(pid: u32, args: &[&str], dir: &Path, name: &'static str) -> Result<Perf, Failure> {
        let control_path = dir.join(format!("perf-{name}-control.fifo"));
        let ack_path = dir.join(format!("perf-{name}-ack.fifo"));
        for path in [&control_path, &ack_path] {
            let _ = std::fs::remove_file(path);
            let made = Command::new("mkfifo")
                .arg(path)
                .status()
                .map_err(|e| Failure::Failed(format!("mkfifo: {e}")))?;
            if !made.success() {
                return Err(Failure::Failed(format!("mkfifo {} failed", path.display())));
            }
        }
        // Opened for reading and writing, a FIFO does not wait for the other end.
        let open = |path: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))
        };
        let control = open(&control_path)?;
        let ack = open(&ack_path)?;
        let perf = Process::spawn(
            Command::new("perf")
                .args(args)
                .args(["--delay=-1", "-p"])
                .arg(pid.to_string())
                .arg(format!(
                    "--control=fifo:{},{}",
                    control_path.display(),
                    ack_path.display()
                ))
                // Its "Events enabled" and the like; a failure shows in its status.
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .map_err(|e| Failure::Failed(format!("perf {name} (is perf installed?): {e}")))?;
        Ok(Perf {
            perf,
            control,
            ack,
            name,
        })
    }

    /// Sends `enable` or `disable` and waits for perf's acknowledgement.
    fn switch(&self, command: &str) -> Result<(), Failure> {
        let failed = |e: std::io::Error| Failure::Failed(format!("perf control: {e}"));
        (&self.control)
            .write_all(format!("{command}\n").as_bytes())
            .map_err(failed)?;
        let mut line = String::new();
        // perf acknowledges each command with one line, and no more comes before the next.
        BufReader::new(&self.ack)
            .read_line(&mut line)
            .map_err(failed)?;
        if line.trim() != "ack" {
            return Err(Failure::Failed(format!(
                "perf answered {line:?} to {command}"
            )));
        }
        Ok(())
    }

    /// Stops perf (which writes its data as it exits) and waits for it: `perf record` by its
    /// `stop` command, `perf stat` (which has none) by Ctrl-C, which ends it by the signal or
    /// with 130.
    fn stop(mut self) -> Result<(), Failure> {
        let status = if self.name == "record" {
            (&self.control)
                .write_all(b"stop\n")
                .map_err(|e| Failure::Failed(format!("perf control: {e}")))?;
            self.perf.wait()?
        } else {
            self.perf.stop_with(Signal::Interrupt)?
        };
        let interrupted = status.code() == Some(130) || status.signal() == Some(2);
        if !(status.success() || interrupted) {
            return Err(Failure::Failed(format!(
                "perf {} ended with {status}",
                self.name
            )));
        }
        Ok(())
    }
}

/// `perf report`'s flat listing: each symbol's share of the samples, with its object.
fn report(data: &Path) -> Result<String, Failure> {
    let output = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "dso,sym",
            "-i",
        ])
        .arg(data)
        .output()
        .map_err(|e| Failure::Failed(format!("perf report: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Failed(format!(
            "perf report failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The listing's samples summed by [`part`], in percent.
fn shares(listing: &str) -> BTreeMap<&'static str, f64> {
    let mut parts = BTreeMap::new();
    for line in listing.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        // `12.34%  object  [.] symbol` (`[k]` for the kernel's).
        let mut fields = line.split_whitespace();
        let (Some(share), Some(object)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(share) = share.trim_end_matches('%').parse::<f64>() else {
            continue;
        };
        let Some((marker, symbol)) = line
            .split_once(" [k] ")
            .map(|(_, symbol)| ("[k]", symbol))
            .or_else(|| line.split_once(" [.] ").map(|(_, symbol)| ("[.]", symbol)))
        else {
            continue;
        };
        let kernel = marker == "[k]";
        let symbol = symbol.trim();
        *parts.entry(part(object, kernel, symbol)).or_default() += share;
    }
    parts
}

/// Which part of the stack a sample is in, by its object and symbol.
fn part(object: &str, kernel: bool, symbol: &str) -> &'static str {
    let has = |prefixes: &[&str]| prefixes.iter().any(|p| symbol.contains(p));
    if kernel || object.starts_with("[kernel") {
        return "kernel";
    }
    if has(&[
        "malloc", "free", "realloc", "calloc", "_int_", "cfree", "memalign",
    ]) {
        return "allocator";
    }
    if has(&["memcpy", "memmove", "memset", "memcmp", "strlen"]) {
        return "libc memory";
    }
    if object.contains("libc") || object.contains("ld-linux") {
        return "libc other";
    }
    if has(&["tungstenite", "websocket", "uWS", "uws"]) {
        return "WebSocket";
    }
    if has(&[
        "hyper",
        "httparse",
        "http::",
        "h1",
        "HttpParser",
        "HttpResponse",
    ]) {
        return "HTTP";
    }
    if has(&["axum", "tower", "matchit"]) {
        return "router";
    }
    if has(&["nitrous", "bench_"]) {
        return "app (nitrous)";
    }
    if has(&["tokio", "mio", "parking_lot", "futures"]) {
        return "runtime";
    }
    if has(&["sha1", "Sha1", "base64", "SHA1"]) {
        return "handshake crypto";
    }
    if object.contains("bun") {
        if symbol.starts_with("0x") || symbol.is_empty() {
            return "bun (unnamed, JIT)";
        }
        return "bun other";
    }
    if object.contains("JIT") || object.starts_with("[unknown]") {
        return "JIT or unknown";
    }
    "other"
}

/// One table, a column per server, a row per name.
fn table(
    title: &str,
    columns: &BTreeMap<Server, BTreeMap<&'static str, f64>>,
    show: impl Fn(f64) -> String,
) -> String {
    let mut names: Vec<&'static str> = columns.values().flat_map(|c| c.keys().copied()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = format!("\n### {title}\n\n| |");
    for server in columns.keys() {
        out.push_str(&format!(" {} |", server.name()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    for name in names {
        out.push_str(&format!("\n| {name} |"));
        for column in columns.values() {
            out.push_str(&format!(
                " {} |",
                show(column.get(name).copied().unwrap_or(0.0))
            ));
        }
    }
    out.push('\n');
    out
}

/// The events `perf stat` counts: CPU time, system calls, the scheduler's switches between
/// threads, and page faults (memory touched for the first time).
const COUNTED: &str =
    "task-clock,raw_syscalls:sys_enter,context-switches,cpu-migrations,page-faults";

/// `perf stat -x,`'s output: each event's count by [`COUNTED`]'s names.
fn read_counts(path: &Path) -> Result<BTreeMap<&'static str, f64>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        // `count,unit,event,...`
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(count), Some(event)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Ok(count) = count.parse::<f64>() else {
            continue;
        };
        let (name, scale) = match *event {
            // In milliseconds; shown in µs.
            "task-clock" => ("CPU (µs)", 1e3),
            "raw_syscalls:sys_enter" => ("system calls", 1.0),
            "context-switches" => ("context switches", 1.0),
            "cpu-migrations" => ("migrations between CPUs", 1.0),
            "page-faults" => ("page faults", 1.0),
            _ => continue,
        };
        counts.insert(name, count * scale);
    }
    Ok(counts)
}
