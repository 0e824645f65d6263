//! Typed channels against raw routes (issue 21): the bench's echo and fan-out ([`echo`],
//! [`fan_out`]) through the raw routes `/ws/echo` and `/ws/fan` and through their typed twins
//! `/ws/typed_echo` and `/ws/typed_fan` (`impl Channel`, `docs/protocol.md`), served by one
//! nitrous process in the same round, the order turning by one from round to round. The clients,
//! message counts, sizes and CPU accounting are the raw workloads' own; only how a client frames a
//! message and recognises a reply differs ([`Protocol`]). The raw route carries the text as it
//! is; the channel carries a struct (`{"text":...}`) inside the protocol's frames, two ways
//! ([`Size`]): with the client's frames as long as the raw route's (64 bytes for the echo, 52 for
//! the fan-out's publish; its `topic` frames are still 12 bytes longer), which prices the channel's
//! work, and with the raw route's whole text, which also prices the protocol's 37 (`message`) and
//! 49 (`topic` on `fan`) more bytes a frame, as an app moving its messages to a channel pays them.
//! The fan-out runs once more from raw clients ([`saturate`]): the tokio-tungstenite subscribers
//! set the pace, so the server waits between deliveries and its CPU per delivery counts its
//! sleeps and wake-ups; raw subscribers keep it busy.
//!
//! Target (issue 21): a typed channel costs at most [`TARGET`] times the raw route's server CPU
//! per message (echo) and per delivery (fan-out). Each round's figure is a ratio of runs seconds
//! apart on the same process, and the table gives the median of those ratios: a ratio, never a
//! time, and never an assertion: it is printed beside the target, as the other targets are.
//!
//! [`echo`]: crate::echo
//! [`fan_out`]: crate::fan_out

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    Client, ECHO_CPU, ECHO_P50, ECHO_P99, ECHO_RATE, FAN_CPU, FAN_LOST, FAN_P99, FAN_RATE, Failure,
    Figure, Load, RAW_FAN_CPU_NS, RAW_FAN_RATE, Server, Sizes, bounded, connect_offering,
    cpu_seconds, figure, saturate, short, summary,
};

/// `bench-load channels [--quick] OUT_DIR`: only this comparison, its rounds as many as the whole
/// run's; the table, and its samples in `OUT_DIR/channels.json`.
pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let Some((quick, out)) = crate::quick_and_out(args) else {
        eprintln!("usage: bench-load channels [--quick] OUT_DIR");
        return std::process::ExitCode::from(2);
    };
    let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
    let run = || {
        let runtime = crate::runtime()?;
        let mut samples = Samples::default();
        for n in 1..=sizes.rounds {
            eprintln!(
                "bench: round {n}/{}: typed channels and raw routes",
                sizes.rounds
            );
            round(&runtime, sizes, n, &mut samples)?;
        }
        let mut json = serde_json::Map::new();
        report(&samples, &mut json);
        let out = Path::new(out);
        std::fs::create_dir_all(out)
            .map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
        let path = out.join("channels.json");
        let text =
            serde_json::to_string_pretty(&json).map_err(|e| Failure::Failed(e.to_string()))?;
        std::fs::write(&path, text)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
        Ok(path)
    };
    crate::finish("bench-load channels", run())
}

/// The most a typed channel may cost over the raw route, in server CPU per message (issue 21).
const TARGET: f64 = 1.15;

const ECHO_CPU_NS: Figure = figure("echo: server CPU per message, by schedstat", "µs", false);
const FAN_CPU_NS: Figure = figure(
    "fan-out: server CPU per delivery, by schedstat",
    "µs",
    false,
);

const ECHO_OTHERS: Figure = figure("echo: other processes' CPU meanwhile", "cores", false);
const FAN_OTHERS: Figure = figure("fan-out: other processes' CPU meanwhile", "cores", false);
const RAW_FAN_OTHERS: Figure = figure(
    "fan-out, raw clients: other processes' CPU meanwhile",
    "cores",
    false,
);

/// The figures that say how busy the rest of the machine was, not what a protocol cost.
const OTHERS: [Figure; 3] = [ECHO_OTHERS, FAN_OTHERS, RAW_FAN_OTHERS];

/// Other processes' CPU during a run, over which the bench says its ratios are not to be
/// trusted: on two cores, a build beside it moves them by a third either way.
const OTHERS_LIMIT: f64 = 0.1;

/// The figures of the comparison, in the order the table shows them.
const FIGURES: [Figure; 15] = [
    ECHO_RATE,
    ECHO_P50,
    ECHO_P99,
    ECHO_CPU,
    ECHO_CPU_NS,
    FAN_RATE,
    FAN_P99,
    FAN_CPU,
    FAN_CPU_NS,
    FAN_LOST,
    RAW_FAN_RATE,
    RAW_FAN_CPU_NS,
    ECHO_OTHERS,
    FAN_OTHERS,
    RAW_FAN_OTHERS,
];

/// Those the target is for.
const TARGETED: [Figure; 5] = [ECHO_CPU, ECHO_CPU_NS, FAN_CPU, FAN_CPU_NS, RAW_FAN_CPU_NS];

/// How a bench client speaks to a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Protocol {
    /// A raw WebSocket route: a message is a text frame, and every text frame is a reply.
    Raw,
    /// A channel route: the subprotocol `nitrous.v1`, `hello` first, messages as
    /// `{"type":"message","data":{"text":...}}`, replies in `message` and `topic` frames.
    Channel(Size),
}

/// How much text a channel's message carries, against the raw route's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Size {
    /// Less by the envelope: the client's frames are as long as the raw route's.
    SameFrame,
    /// The same text: the frames are longer by the envelope.
    SameText,
}

/// What a `message` frame adds to its text.
const ENVELOPE: usize = r#"{"type":"message","data":{"text":""}}"#.len();

/// The three ways the comparison sends its messages, in the order of its first round.
const PROTOCOLS: [Protocol; 3] = [
    Protocol::Raw,
    Protocol::Channel(Size::SameFrame),
    Protocol::Channel(Size::SameText),
];

/// The data of the bench's typed messages: the typed routes' `Text`.
#[derive(Serialize, Deserialize)]
struct Text<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// A client's `message` frame.
#[derive(Serialize)]
struct Outgoing<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Text<'a>,
}

/// A server frame, the fields the bench reads.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<Text<'a>>,
}

impl Protocol {
    /// The bench route `name` (`echo`, `fan`) speaking this protocol.
    pub(crate) fn route(self, name: &str) -> String {
        match self {
            Protocol::Raw => format!("/ws/{name}"),
            Protocol::Channel(_) => format!("/ws/typed_{name}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Protocol::Raw => "raw route",
            Protocol::Channel(Size::SameFrame) => "channel, same frames",
            Protocol::Channel(Size::SameText) => "channel, same text",
        }
    }

    /// How much text goes in a message that the raw route sends as `raw` bytes.
    pub(crate) fn text_len(self, raw: usize) -> usize {
        match self {
            Protocol::Raw | Protocol::Channel(Size::SameText) => raw,
            Protocol::Channel(Size::SameFrame) => raw.saturating_sub(ENVELOPE),
        }
    }

    /// Connects; a channel also says hello and waits for its welcome, so it is open.
    pub(crate) async fn connect(self, url: &str) -> Result<Client, Failure> {
        if self == Protocol::Raw {
            return connect_offering(url, None).await;
        }
        let mut client = connect_offering(url, Some(nitrous::channel::PROTOCOL)).await?;
        client
            .send(Message::text(r#"{"type":"hello"}"#))
            .await
            .map_err(|e| Failure::Failed(format!("{url}: hello: {e}")))?;
        loop {
            match bounded(client.next()).await {
                Some(Some(Ok(Message::Text(text)))) => {
                    let frame: Incoming<'_> = serde_json::from_str(&text).map_err(|e| {
                        Failure::Failed(format!("{url}: not a channel frame ({e}): {text}"))
                    })?;
                    match &*frame.kind {
                        "welcome" => return Ok(client),
                        "notice" => return Err(Failure::Failed(format!("{url}: {text}"))),
                        _ => continue,
                    }
                }
                Some(Some(Ok(_))) => continue,
                other => {
                    return Err(Failure::Failed(format!("{url}: no welcome: {other:?}")));
                }
            }
        }
    }

    /// `text` as this protocol sends a message.
    pub(crate) fn frame(self, text: &str) -> Message {
        match self {
            Protocol::Raw => Message::text(text),
            Protocol::Channel(_) => {
                let frame = Outgoing {
                    kind: "message",
                    data: Text {
                        text: Cow::Borrowed(text),
                    },
                };
                Message::text(serde_json::to_string(&frame).expect("text is always JSON"))
            }
        }
    }

    /// The text a frame from the route carries: `None` for a frame that carries none (a
    /// channel's `welcome`), an error for a channel's `notice` (the route could not read what
    /// the bench sent) or a frame that is not the protocol's.
    pub(crate) fn reply(self, frame: &str) -> Result<Option<Cow<'_, str>>, String> {
        if self == Protocol::Raw {
            return Ok(Some(Cow::Borrowed(frame)));
        }
        if let Some(text) = quick_text(frame) {
            return Ok(Some(Cow::Borrowed(text)));
        }
        let parsed: Incoming<'_> = serde_json::from_str(frame)
            .map_err(|e| format!("not a channel frame ({e}): {frame}"))?;
        match (&*parsed.kind, parsed.data) {
            ("message" | "topic", Some(data)) => Ok(Some(data.text)),
            ("notice", _) => Err(format!("the route sent a notice: {frame}")),
            ("message" | "topic", None) => Err(format!("a frame without data: {frame}")),
            _ => Ok(None),
        }
    }
}

/// The text of a `message` or `topic` frame as the server writes them, read without a JSON
/// parser: the raw client's only work per message is a split, and on two cores a typed client
/// that parsed every one of 1,000,000 deliveries would take CPU from the server it measures.
/// `None` for anything else (another frame, escapes in the text): [`Protocol::reply`] parses it.
fn quick_text(frame: &str) -> Option<&str> {
    let rest = frame
        .strip_prefix(r#"{"type":"message","#)
        .or_else(|| frame.strip_prefix(r#"{"type":"topic","#))?;
    let (_, text) = rest.split_once(r#""data":{"text":""#)?;
    let text = text.strip_suffix(r#""}}"#)?;
    (!text.contains(['"', '\\'])).then_some(text)
}

/// Every round's figures, by figure and protocol.
#[derive(Default)]
pub(crate) struct Samples(BTreeMap<Figure, BTreeMap<Protocol, Vec<f64>>>);

impl Samples {
    fn record(&mut self, figure: Figure, protocol: Protocol, value: f64) {
        self.0
            .entry(figure)
            .or_default()
            .entry(protocol)
            .or_default()
            .push(value);
    }
}

/// One round: a fresh nitrous process, the echo through the raw route and the channel both
/// ways, then the fan-out the same; the order turns by one each round, so what going later does
/// (a warm allocator, a grown heap) falls on each alike.
pub(crate) fn round(
    runtime: &tokio::runtime::Runtime,
    sizes: Sizes,
    round: usize,
    samples: &mut Samples,
) -> Result<(), Failure> {
    let (server, addr) = Server::Nitrous.start(None, false)?;
    let pid = server.pid();
    let mut order = PROTOCOLS;
    order.rotate_left((round - 1) % PROTOCOLS.len());
    let load = Load {
        clients: sizes.echo_clients,
        messages: sizes.echo_messages,
        size: 64,
    };
    for protocol in order {
        let run = watched(pid, samples, ECHO_OTHERS, protocol, || {
            runtime.block_on(crate::echo(&addr, pid, load, protocol))
        })?;
        samples.record(ECHO_RATE, protocol, run.rate);
        samples.record(ECHO_P50, protocol, run.p50);
        samples.record(ECHO_P99, protocol, run.p99);
        samples.record(ECHO_CPU, protocol, run.cpu);
        samples.record(ECHO_CPU_NS, protocol, run.cpu_ns);
    }
    for protocol in order {
        let run = watched(pid, samples, FAN_OTHERS, protocol, || {
            runtime.block_on(crate::fan_out(&addr, &addr, pid, sizes, protocol))
        })?;
        samples.record(FAN_RATE, protocol, run.rate);
        samples.record(FAN_P99, protocol, run.p99);
        samples.record(FAN_CPU, protocol, run.cpu);
        samples.record(FAN_CPU_NS, protocol, run.cpu_ns);
        samples.record(FAN_LOST, protocol, run.lost);
    }
    // The fan-out again from raw clients, which keep the server busy ([`saturate`]).
    for protocol in order {
        let (subscribers, messages) = (sizes.fan_subscribers, sizes.raw_fan_messages);
        let run = watched(pid, samples, RAW_FAN_OTHERS, protocol, || {
            saturate::fan_out(&addr, pid, subscribers, messages, protocol)
        })?;
        samples.record(RAW_FAN_RATE, protocol, run.rate);
        samples.record(RAW_FAN_CPU_NS, protocol, run.cpu_ns);
    }
    Ok(())
}

/// `run`, recording under `others` how many cores the rest of the machine kept busy meanwhile.
fn watched<T>(
    server: u32,
    samples: &mut Samples,
    others: Figure,
    protocol: Protocol,
    run: impl FnOnce() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let before = Machine::read(server)?;
    let outcome = run()?;
    samples.record(
        others,
        protocol,
        Machine::read(server)?.others_since(&before),
    );
    Ok(outcome)
}

/// The machine's CPU time and the bench's own (the server's and this load generator's), to tell
/// how much the rest of the machine took during a run.
struct Machine {
    busy: f64,
    ours: f64,
    at: Instant,
}

impl Machine {
    fn read(server: u32) -> Result<Machine, Failure> {
        Ok(Machine {
            busy: busy_seconds()?,
            ours: cpu_seconds(server)? + cpu_seconds(std::process::id())?,
            at: Instant::now(),
        })
    }

    /// How many cores other processes kept busy since `before`, on average. Every count is in
    /// 10 ms ticks, so four of them (two CPUs, two processes) are let go as rounding: a run of
    /// a few milliseconds (`--quick`) would otherwise look like a whole core's worth.
    fn others_since(&self, before: &Machine) -> f64 {
        let others = (self.busy - before.busy) - (self.ours - before.ours);
        let rounding = 4.0 / crate::clock_ticks();
        let elapsed = self.at.duration_since(before.at).as_secs_f64().max(1e-3);
        (others - rounding).max(0.0) / elapsed
    }
}

/// Every CPU's busy time so far, in seconds: the first line of `/proc/stat`, less idle, I/O wait
/// and the time the hypervisor gave to other machines (steal).
fn busy_seconds() -> Result<f64, Failure> {
    let stat = std::fs::read_to_string("/proc/stat")
        .map_err(|e| Failure::Failed(format!("/proc/stat: {e}")))?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum::<f64>();
    Ok(busy / crate::clock_ticks())
}

/// Prints the comparison's table, and adds its samples to `json` under one key.
pub(crate) fn report(samples: &Samples, json: &mut serde_json::Map<String, serde_json::Value>) {
    if samples.0.is_empty() {
        return;
    }
    println!("\ntyped channels against raw routes (nitrous, one process, the same rounds)");
    print!("{:<52}", "figure");
    for protocol in PROTOCOLS {
        print!(" {:>24}", protocol.name());
    }
    for protocol in &PROTOCOLS[1..] {
        print!(
            " {:>24}",
            format!("{} / raw", protocol.name().trim_start_matches("channel, "))
        );
    }
    println!("  target <= {TARGET}x");
    let cell = |values: &[f64]| {
        if values.is_empty() {
            return "-".to_owned();
        }
        let (median, min, max) = summary(values);
        format!("{} ({}-{})", short(median), short(min), short(max))
    };
    let mut section = serde_json::Map::new();
    for figure in FIGURES {
        let Some(by_protocol) = samples.0.get(&figure) else {
            continue;
        };
        let values = |protocol: Protocol| by_protocol.get(&protocol).map_or(&[][..], Vec::as_slice);
        let label = if figure.unit.is_empty() {
            figure.name.to_owned()
        } else {
            format!("{} [{}]", figure.name, figure.unit)
        };
        print!("{label:<52}");
        for protocol in PROTOCOLS {
            print!(" {:>24}", cell(values(protocol)));
        }
        let mut entry = serde_json::Map::new();
        entry.insert("unit".into(), figure.unit.into());
        entry.insert("higher_is_better".into(), figure.higher_is_better.into());
        for protocol in PROTOCOLS {
            entry.insert(protocol.name().into(), serde_json::json!(values(protocol)));
        }
        let mut verdicts = Vec::new();
        for protocol in &PROTOCOLS[1..] {
            let ratios = crate::paired_ratios(values(Protocol::Raw), values(*protocol));
            if ratios.is_empty() || OTHERS.contains(&figure) {
                print!(" {:>24}", "-");
                continue;
            }
            let (median, min, max) = summary(&ratios);
            print!(" {:>24}", format!("{median:.2}x ({min:.2}-{max:.2})"));
            if TARGETED.contains(&figure) {
                verdicts.push(if median <= TARGET { "met" } else { "MISSED" });
            }
            entry.insert(
                format!("{} / raw route, by round", protocol.name()),
                serde_json::json!(ratios),
            );
        }
        println!("  {}", verdicts.join(", "));
        section.insert(figure.name.into(), entry.into());
    }
    let others = OTHERS
        .iter()
        .filter_map(|figure| samples.0.get(figure))
        .flat_map(|by_protocol| by_protocol.values().flatten())
        .fold(0.0_f64, |most, &cores| most.max(cores));
    if others > OTHERS_LIMIT {
        println!(
            "warning: other processes kept up to {others:.2} cores busy during a run: on this machine's two cores that moves these ratios by more than the target's margin; run again on a quiet machine"
        );
    }
    json.insert("typed channels against raw routes".into(), section.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_client_reads_the_text_of_message_and_topic_frames_and_fails_on_notices() {
        let channel = Protocol::Channel(Size::SameText);
        let reply = |frame: &str| channel.reply(frame).map(|t| t.map(String::from));
        let said = |text: &str| Ok(Some(text.to_owned()));
        assert_eq!(
            reply(r#"{"type":"message","data":{"text":"hi"}}"#),
            said("hi")
        );
        let topic = r#"{"type":"topic","topic":"fan","offset":"1-2","data":{"text":"0.5 pp"}}"#;
        assert_eq!(reply(topic), said("0.5 pp"));
        // Escapes, or fields in another order, go through the parser.
        assert_eq!(
            reply(r#"{"type":"message","data":{"text":"a\"b"}}"#),
            said("a\"b")
        );
        assert_eq!(reply(r#"{"data":{"text":"x"},"type":"topic"}"#), said("x"));
        assert_eq!(
            reply(r#"{"type":"welcome","protocol":1,"peer":"p1"}"#),
            Ok(None)
        );
        assert!(reply(r#"{"type":"notice","code":"bad-data","message":"no"}"#).is_err());
        assert!(reply("ready").is_err());
        assert_eq!(
            Protocol::Raw.reply("ready").map(|t| t.map(String::from)),
            said("ready")
        );
    }

    #[test]
    fn a_typed_client_frames_its_text_as_a_message_frame() {
        let Message::Text(frame) = Protocol::Channel(Size::SameText).frame("a \"quoted\" word")
        else {
            panic!("a text frame");
        };
        assert_eq!(
            frame.as_str(),
            r#"{"type":"message","data":{"text":"a \"quoted\" word"}}"#
        );
    }

    #[test]
    fn a_channel_sized_by_its_frame_sends_frames_as_long_as_the_raw_routes() {
        let raw = Protocol::Raw.frame(&"e".repeat(64));
        let channel = Protocol::Channel(Size::SameFrame);
        let typed = channel.frame(&"e".repeat(channel.text_len(64)));
        assert_eq!(typed.len(), raw.len());
        let channel = Protocol::Channel(Size::SameText);
        assert_eq!(channel.text_len(64), 64);
    }
}
