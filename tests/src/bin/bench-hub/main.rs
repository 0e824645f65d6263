//! The hub alone at scale, for `cargo xtask bench` (which builds this in release and runs
//! `bench-hub [--quick] OUT_DIR`): no sockets, subscribers are event streams made through the
//! public API, all in this process.
//!
//! - **A room**: one topic of 100,000 and of 1,000,000 members (`--quick`: 10,000 and 100,000):
//!   join, publish, leave one at a time, join again, everyone leaves at once ([`room`]).
//! - **Many topics**: one stream in 10,000 topics: subscribe, publish to each and read, close
//!   ([`topics`]).
//!
//! Every pass is timed a hundredth of its size at a time and filed by room size ([`pass`]), so
//! a leave compares with a join at the same sizes. Every pass stops when its budget (120 s,
//! `--quick` 5 s, or `--budget SECS`) runs out and reports how far it got. Prints a table and
//! writes it, with every pass's timings, to `OUT_DIR/hub.json`.

mod pass;
mod report;
mod room;
mod topics;

use std::path::Path;
use std::time::Duration;

use pass::Pass;
use report::Report;
use room::RoomRun;
use topics::TopicsRun;

/// What to run: room sizes, the topics of the many-topics stream, and each pass's budget.
struct Plan {
    rooms: Vec<usize>,
    topics: usize,
    budget: Duration,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            rooms: vec![100_000, 1_000_000],
            topics: 10_000,
            budget: Duration::from_secs(120),
        }
    }

    fn quick() -> Plan {
        Plan {
            rooms: vec![10_000, 100_000],
            topics: 10_000,
            budget: Duration::from_secs(5),
        }
    }
}

const USAGE: &str = "usage: bench-hub [--quick] [--budget SECS] OUT_DIR";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (plan, out) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("bench-hub: {why}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&plan, Path::new(&out)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bench-hub: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<(Plan, String), String> {
    let mut plan = Plan::full();
    let mut budget = None;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => plan = Plan::quick(),
            "--budget" => {
                let secs = args.next().ok_or("--budget takes seconds")?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("--budget takes seconds, got {secs:?}"))?;
                budget = Some(Duration::from_secs(secs));
            }
            _ if out.is_none() && !arg.starts_with("--") => out = Some(arg.clone()),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if let Some(budget) = budget {
        plan.budget = budget;
    }
    Ok((plan, out.ok_or("no OUT_DIR")?))
}

fn run(plan: &Plan, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut report = Report::default();
    let mut rooms = Vec::new();
    for &size in &plan.rooms {
        let run = room::run(size, plan.budget)?;
        report_room(&mut report, &run, plan.budget);
        rooms.push(room_json(&run));
    }
    let topics = topics::run(plan.topics, plan.budget)?;
    report_topics(&mut report, &topics, plan.budget);
    report.print();
    let details = serde_json::json!({
        "budget_seconds_per_pass": plan.budget.as_secs(),
        "rooms": rooms,
        "topics": topics_json(&topics),
    });
    let path = out.join("hub.json");
    report.write(&path, details)?;
    println!("results: {}", path.display());
    Ok(())
}

fn report_room(report: &mut Report, run: &RoomRun, budget: Duration) {
    let room = format!("room of {}", thousands(run.size));
    let joined = run.join.moved;

    report.row(
        format!("{room}: join, members joined"),
        Some(joined as f64),
        "",
        cut_note(&run.join, run.size, budget),
    );
    report.row(
        format!("{room}: join, total"),
        Some(run.join.elapsed.as_secs_f64()),
        "s",
        "",
    );
    tenths(report, &room, "join", Way::Joining, &run.join);
    report.row(
        format!("{room}: join, per join at the start"),
        run.join.per_member_at_smallest(),
        "µs",
        "the first hundredth",
    );
    report.row(
        format!("{room}: join, per join at the end"),
        run.join.per_member_at_largest(),
        "µs",
        format!(
            "the last hundredth timed, up to {} members",
            thousands(run.join.timed_up_to())
        ),
    );
    report.row(
        format!("{room}: join, per join at the end / at the start"),
        run.join
            .per_member_at_largest()
            .zip(run.join.per_member_at_smallest())
            .map(|(end, start)| end / start),
        "x",
        "by hundredths: all a pass cut inside its first tenths has to show",
    );
    report.row(
        format!("{room}: RSS per member, its event stream"),
        Some((run.rss_made - run.rss_before) / run.size as f64),
        "KiB",
        "made, not yet joined",
    );
    report.row(
        format!("{room}: RSS per member, its membership"),
        (joined > 0).then(|| (run.rss_joined - run.rss_made) / joined as f64),
        "KiB",
        format!(
            "RSS with all joined: {} MiB",
            short(run.rss_joined / 1024.0)
        ),
    );

    let mut took: Vec<f64> = run.publishes.iter().map(|p| p.took.as_secs_f64()).collect();
    took.sort_by(f64::total_cmp);
    let median = took.get(took.len() / 2).copied();
    report.row(
        format!("{room}: one publish to all"),
        median.map(|s| s * 1e3),
        "ms",
        format!(
            "median of {}, to {} members (min-max {})",
            took.len(),
            thousands(joined),
            range(&took, 1e3)
        ),
    );
    report.row(
        format!("{room}: one publish to all, per delivery"),
        median
            .filter(|_| joined > 0)
            .map(|s| s * 1e9 / joined as f64),
        "ns",
        "",
    );

    report.row(
        format!("{room}: leave one at a time, members left"),
        Some(run.leave.moved as f64),
        "",
        format!(
            "the last to join first; {}",
            cut_note(&run.leave, joined, budget)
        ),
    );
    report.row(
        format!("{room}: leave one at a time, total"),
        Some(run.leave.elapsed.as_secs_f64()),
        "s",
        "",
    );
    tenths(report, &room, "leave", Way::Leaving, &run.leave);
    let same_sizes = run.leave.largest().and_then(|(t, leave)| {
        let join = run.join.tenths()[t]?;
        Some((t, leave / join))
    });
    report.row(
        format!("{room}: leave / join, at the same room sizes"),
        same_sizes.map(|(_, r)| r),
        "x",
        same_sizes.map_or_else(String::new, |(t, _)| {
            format!("leaving vs joining in a room of {}", tenth_sizes(t))
        }),
    );

    match &run.rejoin {
        Some(rejoin) => {
            report.row(
                format!("{room}: join again, total"),
                Some(rejoin.elapsed.as_secs_f64()),
                "s",
                cut_note(rejoin, run.size, budget),
            );
            report.ratio(
                format!("{room}: join again, last tenth / first tenth"),
                rejoin.growth(),
                "a second sample of the join",
            );
        }
        None => report.row(
            format!("{room}: join again"),
            None,
            "",
            "not run: the leave was cut, so those still in the room depart at once instead",
        ),
    }

    let departure = &run.departure;
    let who = format!(
        "{room}: everyone leaves at once ({} threads)",
        departure.threads
    );
    report.row(
        format!("{who}, members left"),
        Some(departure.pass.moved as f64),
        "",
        cut_note(&departure.pass, departure.from, budget),
    );
    report.row(
        format!("{who}, total"),
        Some(departure.pass.elapsed.as_secs_f64()),
        "s",
        "",
    );
    tenths(
        report,
        &room,
        "everyone leaving",
        Way::Leaving,
        &departure.pass,
    );
    let during: Vec<f64> = {
        let mut took: Vec<f64> = departure
            .publishes
            .iter()
            .map(|p| p.took.as_secs_f64())
            .collect();
        took.sort_by(f64::total_cmp);
        took
    };
    report.row(
        format!("{room}: publish while everyone leaves"),
        during.get(during.len() / 2).map(|s| s * 1e3),
        "ms",
        format!(
            "median of {}, one each time the room lost a tenth (min-max {})",
            during.len(),
            range(&during, 1e3)
        ),
    );
    report.row(
        format!("{room}: after, a publish reached"),
        Some(run.after.reached as f64),
        "",
        format!(
            "{} µs; the hub has {} topics left",
            short(run.after.took.as_secs_f64() * 1e6),
            run.topics_after
        ),
    );
}

/// Whether a pass fills the room or empties it.
#[derive(Clone, Copy)]
enum Way {
    Joining,
    Leaving,
}

/// A pass's tenths at the smallest and the largest room sizes and their ratio, the largest
/// sizes over the smallest for joins and leaves alike: a join's last tenth over its first, a
/// leave's first tenth over its last.
fn tenths(report: &mut Report, room: &str, what: &str, way: Way, pass: &Pass) {
    let (smallest, largest) = match way {
        Way::Joining => ("first tenth", "last tenth"),
        Way::Leaving => ("last tenth to leave", "first tenth to leave"),
    };
    report.row(
        format!("{room}: {what}, {smallest}"),
        pass.smallest().map(|s| s * 1e3),
        "ms",
        format!("room of {}", tenth_sizes(0)),
    );
    let top = pass.largest();
    report.row(
        format!("{room}: {what}, {largest}"),
        top.map(|(_, s)| s * 1e3),
        "ms",
        top.map_or_else(
            || "no tenth but the first was wholly timed".to_owned(),
            |(t, _)| {
                let whole = if t == 9 {
                    ""
                } else {
                    ", the largest wholly timed"
                };
                format!("room of {}{whole}", tenth_sizes(t))
            },
        ),
    );
    let name = match way {
        Way::Joining => format!("{room}: {what}, last tenth / first tenth"),
        Way::Leaving => format!("{room}: {what}, first tenth to leave / last"),
    };
    report.ratio(
        name,
        pass.growth(),
        "the tenth at the largest room sizes over the one at the smallest",
    );
}

fn report_topics(report: &mut Report, run: &TopicsRun, budget: Duration) {
    let name = format!("one stream in {} topics", thousands(run.topics));
    let per = |pass: &Pass| pass.elapsed.as_secs_f64() / pass.moved.max(1) as f64 * 1e6;
    report.row(
        format!("{name}: subscribe, total"),
        Some(run.subscribe.elapsed.as_secs_f64() * 1e3),
        "ms",
        format!(
            "{} µs per topic; {}",
            short(per(&run.subscribe)),
            cut_note(&run.subscribe, run.topics, budget)
        ),
    );
    report.ratio(
        format!("{name}: subscribe, last tenth / first tenth"),
        run.subscribe.growth(),
        "by the number of topics the stream is in",
    );
    report.row(
        format!("{name}: a publish to each, total"),
        Some(run.publish.elapsed.as_secs_f64() * 1e3),
        "ms",
        format!("{} µs per publish", short(per(&run.publish))),
    );
    report.ratio(
        format!("{name}: a publish to each, last tenth / first tenth"),
        run.publish.growth(),
        "by the number of topics published to",
    );
    report.row(
        format!("{name}: reading the events from its response body"),
        Some(run.read.elapsed.as_secs_f64() * 1e3),
        "ms",
        format!(
            "{} µs per event, read a tenth of the topics at a time",
            short(per(&run.read))
        ),
    );
    report.ratio(
        format!("{name}: reading, last tenth / first tenth"),
        run.read.growth(),
        "the stream is in every topic throughout",
    );
    report.row(
        format!("{name}: close(), which leaves them all"),
        Some(run.close.as_secs_f64() * 1e3),
        "ms",
        format!(
            "{} µs per topic; no per-topic unsubscribe in EventStream's API; {} topics left",
            short(run.close.as_secs_f64() / run.subscribe.moved.max(1) as f64 * 1e6),
            run.topics_after
        ),
    );
}

fn cut_note(pass: &Pass, of: usize, budget: Duration) -> String {
    if pass.cut {
        format!(
            "CUT: the {} s budget ran out at {} of {}",
            budget.as_secs(),
            thousands(pass.moved),
            thousands(of)
        )
    } else {
        format!("all {}", thousands(of))
    }
}

/// The room sizes tenth `t` covers, as percentages of the full room.
fn tenth_sizes(t: usize) -> String {
    format!("{}-{}%", t * 10, t * 10 + 10)
}

/// `min-max` of `values` (sorted) times `scale`.
fn range(values: &[f64], scale: f64) -> String {
    match (values.first(), values.last()) {
        (Some(min), Some(max)) => format!("{}-{}", short(min * scale), short(max * scale)),
        _ => "-".to_owned(),
    }
}

fn short(value: f64) -> String {
    report::short(value)
}

/// `1000000` as `1,000,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn room_json(run: &RoomRun) -> serde_json::Value {
    let published = |p: &room::Published| serde_json::json!({ "seconds": p.took.as_secs_f64(), "reached": p.reached });
    serde_json::json!({
        "size": run.size,
        "rss_kib": {
            "before": run.rss_before,
            "streams_made": run.rss_made,
            "all_joined": run.rss_joined,
        },
        "join": run.join.to_json(),
        "publishes": run.publishes.iter().map(published).collect::<Vec<_>>(),
        "leave_one_at_a_time": run.leave.to_json(),
        "join_again": run.rejoin.as_ref().map(Pass::to_json),
        "everyone_leaves_at_once": {
            "threads": run.departure.threads,
            "pass": run.departure.pass.to_json(),
            "publishes_meanwhile": run.departure.publishes.iter().map(published).collect::<Vec<_>>(),
        },
        "publish_after": published(&run.after),
        "topics_after": run.topics_after,
    })
}

fn topics_json(run: &TopicsRun) -> serde_json::Value {
    serde_json::json!({
        "topics": run.topics,
        "subscribe": run.subscribe.to_json(),
        "publish_to_each": run.publish.to_json(),
        "read": run.read.to_json(),
        "close_seconds": run.close.as_secs_f64(),
        "topics_after": run.topics_after,
    })
}

/// This process's resident memory in KiB (`VmRSS` in `/proc/self/status`).
fn rss_kib() -> Result<f64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
