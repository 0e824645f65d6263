//! `cargo xtask bench`: measurements, each reported beside its target.
//!
//! Every workload in [`WORKLOADS`] returns rows; they are printed as one table and written to
//! `target/bench/{workload}.json`. Today one workload: how long the `routes!` expansion (scan,
//! parse, validate, generate) takes for 500 route files. Then the tests crate's bench binaries,
//! built in release, print their own tables: `bench-load` (nitrous beside axum and Bun, which
//! [`bun`] installs under `target/bench/bun`), `bench-load rooms` (one room of as many WebSocket
//! connections as the open-file limit allows), `bench-hub` (the hub alone, up to a million
//! members) and `bench-presence` (joins and leaves with presence off and on, through Redis too,
//! and Redis's memory per member). `--scale` runs only `bench-load rooms` and `bench-hub`; `--profile` only `bench-load profile` (where each
//! server's CPU goes, workload by workload, by `perf`). `--pin` runs `bench-load`'s servers on the
//! last CPU and the load generator on the others (`taskset`), so that no server shares a core
//! with its clients and each gets the same one.

mod bun;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

use crate::{Failure, workspace_root};
use nitrous_routes::{expand, folder, listing};
use nitrous_support::bench::{BUN_ENV, SERVER_CPUS_ENV};

/// A measurement that `bench` runs: its name (also its JSON file's) and the function that runs it.
struct Workload {
    name: &'static str,
    measure: fn(&Path, Effort) -> Result<Vec<Row>, Failure>,
}

const WORKLOADS: &[Workload] = &[Workload {
    name: "routes_expand",
    measure: routes_expand,
}];

/// How long to measure: `--quick` checks that every workload still runs; its figures are rough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effort {
    Full,
    Quick,
}

/// Which workloads: all, or (`--scale`) only the rooms at scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    All,
    Scale,
    /// Only `bench-load profile`: where each server's CPU goes, by `perf`.
    Profile,
}

/// What `bench` was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Options {
    effort: Effort,
    scope: Scope,
    /// `bench-load`'s servers on a CPU of their own (`--pin`).
    pin: bool,
}

fn parse(args: &[String]) -> Result<Options, Failure> {
    let mut options = Options {
        effort: Effort::Full,
        scope: Scope::All,
        pin: false,
    };
    for arg in args {
        match arg.as_str() {
            "--quick" => options.effort = Effort::Quick,
            "--scale" => options.scope = Scope::Scale,
            "--profile" => options.scope = Scope::Profile,
            "--pin" => options.pin = true,
            _ => {
                return Err(Failure::Usage(format!(
                    "bench takes only --quick, --scale, --profile and --pin, got {args:?}"
                )));
            }
        }
    }
    Ok(options)
}

/// `--pin`: the servers' CPU (the last this process may run on) and the load generator's (the
/// others), in `taskset -c`'s form. Read from the kernel's own list (`Cpus_allowed_list`), so a
/// container limited to CPUs 2-3 pins to those, not to 0 and 1. Two CPUs at least.
fn pinned_cpus() -> Result<(String, String), Failure> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Failure::Failed(format!("/proc/self/status: {e}")))?;
    let allowed = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .and_then(|list| cpu_list(list.trim()))
        .ok_or_else(|| {
            Failure::Failed(
                "bench --pin: no readable Cpus_allowed_list in /proc/self/status".into(),
            )
        })?;
    split_cpus(&allowed).ok_or_else(|| {
        Failure::Usage(format!(
            "bench --pin needs two CPUs, one for the servers and the rest for the load generator; this process may use {allowed:?}"
        ))
    })
}

/// The CPUs of a list in the kernel's form (`0-3,6`), in order; `None` if it is not one.
fn cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((first, last)) => cpus.extend(first.parse::<usize>().ok()?..=last.parse().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// The last CPU for the servers, the others (comma-separated) for the load generator.
fn split_cpus(cpus: &[usize]) -> Option<(String, String)> {
    let (servers, clients) = cpus.split_last()?;
    if clients.is_empty() {
        return None;
    }
    let clients: Vec<String> = clients.iter().map(usize::to_string).collect();
    Some((servers.to_string(), clients.join(",")))
}

/// One measured figure.
struct Row {
    name: &'static str,
    unit: &'static str,
    runs: usize,
    median: f64,
    min: f64,
    max: f64,
    target: &'static str,
    met: bool,
}

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let Options { effort, scope, pin } = parse(args)?;
    let pinned = pin.then(pinned_cpus).transpose()?;
    if cfg!(debug_assertions) {
        return rerun_in_release(args);
    }
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    let mut all = Vec::new();
    if scope == Scope::All {
        for workload in WORKLOADS {
            let rows = (workload.measure)(&out, effort)?;
            write_json(&out.join(format!("{}.json", workload.name)), &rows)?;
            all.extend(rows);
        }
        print_rows(&all);
    }
    // The load generator, the servers it compares and the hub bench, built in release; each
    // prints its table.
    crate::process::run_command(crate::cargo().args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "nitrous-tests",
        "--bin",
        "bench-load",
        "--bin",
        "bench-nitrous",
        "--bin",
        "bench-axum",
        "--bin",
        "bench-hub",
        "--bin",
        "bench-presence",
    ]))?;
    let release = crate::target_dir()?.join("release");
    // Bun, the baseline beside axum in `bench-load`'s table; without npm, the table goes without.
    let bun = if scope != Scope::Scale {
        bun::ensure(&out)?
    } else {
        None
    };
    let bench = |binary: &str, mode: Option<&str>| {
        let mut command = match pinned.as_ref().filter(|_| binary == "bench-load") {
            Some((servers, clients)) => {
                let mut command = std::process::Command::new("taskset");
                command.args(["-c", clients]).arg(release.join(binary));
                command.env(SERVER_CPUS_ENV, servers);
                command
            }
            None => std::process::Command::new(release.join(binary)),
        };
        command.args(mode);
        if let Some(bun) = bun.as_ref().filter(|_| binary == "bench-load") {
            command.env(BUN_ENV, bun);
        }
        if effort == Effort::Quick {
            command.arg("--quick");
        }
        crate::process::run_command(command.arg(&out))
    };
    if scope == Scope::Profile {
        crate::system::ensure_perf()?;
        return bench("bench-load", Some("profile"));
    }
    if scope == Scope::All {
        bench("bench-load", None)?;
    }
    bench("bench-load", Some("rooms"))?;
    bench("bench-hub", None)?;
    if scope == Scope::All {
        bench("bench-presence", None)?;
    }
    if all.iter().all(|r| r.met) {
        Ok(())
    } else {
        Err(Failure::Failed(
            "a target was missed (see the table)".to_owned(),
        ))
    }
}

/// Timing an unoptimised build says nothing: run this command's release build instead.
fn rerun_in_release(args: &[String]) -> Result<(), Failure> {
    eprintln!(
        "xtask bench: this xtask has no optimisations; building and running the release one (cargo run --release -p xtask -- bench)"
    );
    let status = crate::cargo()
        .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
        .arg("bench")
        .args(args)
        .status()
        .map_err(|e| Failure::Failed(format!("cannot run cargo: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::Exit(u8::try_from(code).unwrap_or(1))),
        None => Err(Failure::Failed(format!(
            "the release bench stopped: {status}"
        ))),
    }
}

/// Route files the expansion bench scans.
pub(crate) const ROUTE_FILES: usize = 500;

const GET: &str = "#[nitrous::get]\npub async fn get() -> &'static str {\n    \"x\"\n}\n";
const ANY: &str = "#[nitrous::handler]\npub async fn any() -> &'static str {\n    \"x\"\n}\n";
const GET_AND_POST: &str = "#[nitrous::get]\npub async fn get() -> &'static str {\n    \"x\"\n}\n\n#[nitrous::post]\npub async fn post() -> &'static str {\n    \"x\"\n}\n";

/// Writes `ROUTE_FILES` route files under `dir/src/server/routes`, using every convention (static
/// names, nested folders, `index.rs`, params, catch-alls, method suffixes, groups, a file beside a
/// folder of its name, two handlers in one file), and returns the number of endpoints they declare.
pub(crate) fn generate_routes(dir: &Path) -> Result<usize, Failure> {
    let routes = dir.join(folder::DEFAULT_DIR);
    match std::fs::remove_dir_all(&routes) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Failure::Failed(format!("{}: {e}", routes.display())));
        }
        _ => {}
    }
    let mut endpoints = 0;
    for i in 0..ROUTE_FILES {
        // Ten areas, each holding every kind of file; `i - 6` below names a folder that file
        // `i - 6` (of kind 1 or 3, in the same area) holds.
        let area = format!("area{}", i / 10 % 10);
        let (rel, text) = match i % 10 {
            0 => (format!("{area}/page{i}.rs"), GET),
            1 => (format!("{area}/item{i}/[id].rs"), GET),
            2 => (format!("{area}/(group)/static{i}.get.rs"), ANY),
            3 => (format!("{area}/files{i}/[...rest].rs"), GET),
            4 => (format!("{area}/form{i}.post.rs"), ANY),
            5 => (format!("{area}/deep{i}/a/b/[slug]/index.rs"), GET),
            6 => (format!("{area}/both{i}.rs"), GET_AND_POST),
            7 => (format!("{area}/item{}/[id]/edit.put.rs", i - 6), ANY),
            8 => (format!("{area}/(g{i})/gone{i}.delete.rs"), ANY),
            _ => (format!("{area}/files{}/[...rest].post.rs", i - 6), ANY),
        };
        endpoints += text.matches("#[nitrous::").count();
        let path = routes.join(rel);
        let write = || {
            std::fs::create_dir_all(path.parent().expect("a route file has a folder"))?;
            std::fs::write(&path, text)
        };
        write().map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    }
    Ok(endpoints)
}

/// One whole `routes!()` expansion over `dir`, as the macro runs it, and how long it took.
fn expand_once(dir: &Path) -> Result<Duration, Failure> {
    let context = expand::Context {
        manifest_dir: dir.to_path_buf(),
        call_dir: None,
        build_script: expand::BuildScript::Unknown,
    };
    let start = Instant::now();
    expand::routes(TokenStream::new(), &context)
        .map_err(|e| Failure::Failed(format!("routes! failed: {e}")))?;
    Ok(start.elapsed())
}

/// How many rows `ROUTES` has for `dir`, failing on any error, so that a broken fixture cannot
/// look fast. (The listing equals the generated table: `nitrous-routes` tests that.)
fn table_rows(dir: &Path) -> Result<usize, Failure> {
    listing::list(TokenStream::new(), dir, None)
        .map(|table| table.rows().len())
        .map_err(|e| {
            Failure::Failed(format!(
                "the generated route files have errors; the bench measured nothing:\n{e}"
            ))
        })
}

fn routes_expand(out: &Path, effort: Effort) -> Result<Vec<Row>, Failure> {
    let runs = match effort {
        Effort::Full => 20,
        Effort::Quick => 3,
    };
    let dir: PathBuf = out.join("routes500");
    let endpoints = generate_routes(&dir)?;
    // The check also fills the file cache, as a warm-up.
    let rows = table_rows(&dir)?;
    if rows != endpoints {
        return Err(Failure::Failed(format!(
            "the generated files declare {endpoints} endpoints, but ROUTES has {rows} rows"
        )));
    }
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        millis.push(expand_once(&dir)?.as_secs_f64() * 1e3);
    }
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    Ok(vec![Row {
        name: "routes! expansion, 500 route files",
        unit: "ms",
        runs,
        median,
        min: millis[0],
        max: millis[millis.len() - 1],
        target: "< 1000 ms",
        met: median < 1000.0,
    }])
}

fn print_rows(rows: &[Row]) {
    println!(
        "{:<36}  {:>4}  {:>10}  {:>15}  {:<10}  verdict",
        "figure", "runs", "median", "min-max", "target"
    );
    for r in rows {
        let range = format!("{:.1}-{:.1}", r.min, r.max);
        let verdict = if r.met { "met" } else { "MISSED" };
        println!(
            "{:<36}  {:>4}  {:>7.1} {:<2}  {range:>15}  {:<10}  {verdict}",
            r.name, r.runs, r.median, r.unit, r.target
        );
    }
}

fn write_json(path: &Path, rows: &[Row]) -> Result<(), Failure> {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "figure": r.name,
                "unit": r.unit,
                "runs": r.runs,
                "median": r.median,
                "min": r.min,
                "max": r.max,
                "target": r.target,
                "met": r.met,
            })
        })
        .collect();
    let json = serde_json::to_string_pretty(&rows).expect("JSON values always serialise") + "\n";
    std::fs::write(path, json).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    eprintln!("xtask bench: results in {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_go_in_any_order_and_nothing_else_goes() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let parsed = |list: &[&str]| parse(&args(list)).ok().map(|o| (o.effort, o.scope, o.pin));
        assert_eq!(parsed(&[]), Some((Effort::Full, Scope::All, false)));
        assert_eq!(
            parsed(&["--scale", "--quick"]),
            Some((Effort::Quick, Scope::Scale, false))
        );
        assert_eq!(
            parsed(&["--quick", "--scale"]),
            Some((Effort::Quick, Scope::Scale, false))
        );
        assert_eq!(
            parsed(&["--pin", "--quick"]),
            Some((Effort::Quick, Scope::All, true))
        );
        assert_eq!(parsed(&["--rounds"]), None);
    }

    #[test]
    fn pinning_gives_the_servers_the_last_allowed_cpu_and_the_load_the_others() {
        assert_eq!(cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(cpu_list("2-3,6"), Some(vec![2, 3, 6]));
        assert_eq!(cpu_list("x"), None);
        let split = |list: &str| split_cpus(&cpu_list(list).unwrap());
        assert_eq!(split("0-1"), Some(("1".into(), "0".into())));
        assert_eq!(split("2-3,6"), Some(("6".into(), "2,3".into())));
        assert_eq!(split("5"), None, "one CPU cannot be split");
    }

    #[test]
    fn the_generated_route_files_expand_without_errors_into_one_row_per_endpoint() {
        let dir = workspace_root().join("target/bench/routes500-test");
        let endpoints = generate_routes(&dir).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(endpoints > ROUTE_FILES, "some file declares two handlers");
        expand_once(&dir).unwrap_or_else(|e| panic!("{e:?}"));
        let rows = table_rows(&dir).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(rows, endpoints);
    }
}
