//! `cargo xtask bench`: measurements, each reported beside its target or baseline.
//!
//! Today one workload: how long the `routes!` expansion (scan, parse, validate, generate) takes for
//! 500 route files. Each workload returns rows; results go to `target/bench/` as JSON.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Failure, expand, workspace_root};

/// One measured figure.
struct Row {
    name: &'static str,
    unit: &'static str,
    median: f64,
    min: f64,
    max: f64,
    target: String,
    met: bool,
}

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => {
            return Err(Failure::Usage(format!(
                "bench takes only --quick, got {args:?}"
            )));
        }
    };
    if cfg!(debug_assertions) {
        // Timing an unoptimised build would say nothing: run the release build of this command.
        let mut command = crate::cargo();
        command
            .args([
                "run",
                "--release",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "bench",
            ])
            .args(args);
        let status = command
            .status()
            .map_err(|e| Failure::Failed(format!("cannot run cargo: {e}")))?;
        return if status.success() {
            Ok(())
        } else {
            Err(Failure::Failed(format!("bench failed ({status})")))
        };
    }
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    let rows = routes_expand(&out, if quick { 3 } else { 20 })?;
    print_rows(&rows);
    write_json(&out.join("routes_expand.json"), &rows)?;
    if rows.iter().all(|r| r.met) {
        Ok(())
    } else {
        Err(Failure::Failed(
            "a target was missed (see the table)".to_owned(),
        ))
    }
}

/// Route files the expansion bench scans.
pub(crate) const ROUTE_FILES: usize = 500;

/// Writes `ROUTE_FILES` route files under `dir/src/server/routes` using every convention (static
/// names, nested folders, params, catch-alls, method suffixes, groups), and returns the number of
/// endpoints they declare.
pub(crate) fn generate_routes(dir: &Path) -> Result<usize, Failure> {
    let routes = dir.join(expand::DEFAULT_DIR);
    let _ = std::fs::remove_dir_all(&routes);
    let handler = "#[nitrous::get]\npub async fn get() -> &'static str {\n    \"x\"\n}\n";
    let any = "#[nitrous::handler]\npub async fn any() -> &'static str {\n    \"x\"\n}\n";
    for i in 0..ROUTE_FILES {
        let area = format!("area{}", i % 10);
        let (rel, text) = match i % 5 {
            0 => (format!("{area}/page{i}.rs"), handler),
            1 => (format!("{area}/item{i}/[id].rs"), handler),
            2 => (format!("{area}/(group)/static{i}.get.rs"), any),
            3 => (format!("{area}/files{i}/[...rest].rs"), handler),
            _ => (format!("{area}/form{i}.post.rs"), any),
        };
        let path = routes.join(rel);
        let write = || {
            std::fs::create_dir_all(path.parent().expect("a route file has a folder"))?;
            std::fs::write(&path, text)
        };
        write().map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    }
    Ok(ROUTE_FILES)
}

/// One whole `routes!()` expansion over `dir`, as the macro runs it; fails on any compile error.
pub(crate) fn expand_once(dir: &Path) -> Result<(Duration, String), Failure> {
    let context = expand::Context {
        manifest_dir: dir.to_path_buf(),
        call_dir: None,
        build_script: expand::BuildScript::Unknown,
    };
    let start = Instant::now();
    let tokens = expand::routes(proc_macro2::TokenStream::new(), &context)
        .map_err(|e| Failure::Failed(format!("routes! failed: {e}")))?;
    let code = tokens.to_string();
    let elapsed = start.elapsed();
    if code.contains("compile_error") {
        return Err(Failure::Failed(
            "the generated route files have errors; the bench measured nothing".to_owned(),
        ));
    }
    Ok((elapsed, code))
}

fn routes_expand(out: &Path, runs: usize) -> Result<Vec<Row>, Failure> {
    let dir: PathBuf = out.join("routes500");
    let endpoints = generate_routes(&dir)?;
    let (_, code) = expand_once(&dir)?; // warm the file cache
    let routes = code.matches(". route (").count();
    if routes != endpoints {
        return Err(Failure::Failed(format!(
            "expected {endpoints} routes in the generated router, found {routes}"
        )));
    }
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        millis.push(expand_once(&dir)?.0.as_secs_f64() * 1e3);
    }
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    Ok(vec![Row {
        name: "routes! expansion, 500 route files",
        unit: "ms",
        median,
        min: millis[0],
        max: millis[millis.len() - 1],
        target: "< 1000 ms".to_owned(),
        met: median < 1000.0,
    }])
}

fn print_rows(rows: &[Row]) {
    println!(
        "{:<40}  {:>10}  {:>21}  {:<12}  verdict",
        "figure", "median", "min-max", "target"
    );
    for r in rows {
        let range = format!("{:.1}-{:.1}", r.min, r.max);
        let verdict = if r.met { "met" } else { "MISSED" };
        println!(
            "{:<40}  {:>7.1} {:<2}  {range:>21}  {:<12}  {verdict}",
            r.name, r.median, r.unit, r.target
        );
    }
}

fn write_json(path: &Path, rows: &[Row]) -> Result<(), Failure> {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  {{\"figure\": {:?}, \"unit\": {:?}, \"median\": {:.3}, \"min\": {:.3}, \"max\": {:.3}, \"target\": {:?}, \"met\": {}}}",
                r.name, r.unit, r.median, r.min, r.max, r.target, r.met
            )
        })
        .collect();
    let json = format!("[\n{}\n]\n", items.join(",\n"));
    std::fs::write(path, json).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    println!("results: {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_route_files_expand_without_errors_into_one_route_each() {
        let dir = workspace_root().join("target/bench/routes500-test");
        let endpoints = generate_routes(&dir).unwrap();
        let (_, code) = expand_once(&dir).unwrap();
        assert_eq!(code.matches(". route (").count(), endpoints);
    }
}
