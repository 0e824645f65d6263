//! `cargo xtask autobahn`: the Autobahn TestSuite's cases 1.* to 7.*, 9.* and 10.* against the
//! fixture app's two echo routes (one forwards each `Message`, one answers with copies of its
//! bytes or text, as a new user writes it), driven by `kosoku` (PyPI), which runs Autobahn's own
//! case files. Passes when no case fails on either (OK, NON-STRICT and INFORMATIONAL are
//! Autobahn's passing verdicts).

use std::path::Path;
use std::process::Command;

use nitrous_support::Process;

use crate::{Failure, cargo, process, workspace_root};

const KOSOKU: &str = "kosoku==0.1.0";
const CASES: &[&str] = &[
    "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*",
];
/// Fewer cases than this means the selection went wrong, not that the server is good.
const AT_LEAST: usize = 290;
/// The echo routes, each with the folder its report goes to.
const ROUTES: &[(&str, &str)] = &[("/ws/echo", "report"), ("/ws/echo_copies", "report-copies")];

pub(crate) fn run() -> Result<(), Failure> {
    let dir = workspace_root().join("target/autobahn");
    let kosoku = process::venv(&dir.join("venv"), &[KOSOKU])?.join("bin/kosoku");
    process::run_command(cargo().args([
        "build",
        "--quiet",
        "--package",
        "nitrous-tests",
        "--bin",
        "fixture-server",
    ]))?;
    let mut fixture = Command::new(workspace_root().join("target/debug/fixture-server"));
    fixture.arg("0");
    let (mut server, addr) = Process::start(fixture, |line| {
        Some(line.trim().to_owned()).filter(|l| !l.is_empty())
    })?;
    let outcome = ROUTES.iter().try_for_each(|(route, folder)| {
        eprintln!("autobahn: {route}");
        let report = dir.join(folder);
        let _ = std::fs::remove_dir_all(&report);
        let mut command = Command::new(&kosoku);
        command
            .arg(format!("{addr}{route}"))
            .args(["-p", "2", "-o"])
            .arg(&report);
        for case in CASES {
            command.args(["-i", case]);
        }
        let status = command
            .status()
            .map_err(|e| Failure::Failed(format!("cannot run kosoku: {e}")))?;
        if !status.success() {
            return Err(Failure::Failed(format!(
                "kosoku failed on {route}; see its output above"
            )));
        }
        verdict(&report.join("index.json")).map_err(|failure| match failure {
            Failure::Failed(why) => Failure::Failed(format!("{route}: {why}")),
            other => other,
        })
    });
    server.kill();
    outcome
}

/// Counts the verdicts in kosoku's report; any failing case fails the run.
fn verdict(index: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(index)
        .map_err(|e| Failure::Failed(format!("{}: {e}", index.display())))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Failed(format!("{}: {e}", index.display())))?;
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut failed = Vec::new();
    for cases in report
        .as_object()
        .into_iter()
        .flat_map(|agents| agents.values())
    {
        for (case, result) in cases.as_object().into_iter().flatten() {
            let behavior = result["behavior"].as_str().unwrap_or("MISSING");
            let close = result["behaviorClose"].as_str().unwrap_or("MISSING");
            *counts.entry(behavior.to_owned()).or_default() += 1;
            let passing = |b: &str| matches!(b, "OK" | "NON-STRICT" | "INFORMATIONAL");
            if !passing(behavior) || !passing(close) {
                failed.push(format!("{case}: {behavior} / close {close}"));
            }
        }
    }
    let total: usize = counts.values().sum();
    eprintln!("autobahn: {total} cases: {counts:?}");
    if !failed.is_empty() {
        return Err(Failure::Failed(format!(
            "{} Autobahn cases failed:\n{}",
            failed.len(),
            failed.join("\n")
        )));
    }
    if total < AT_LEAST {
        return Err(Failure::Failed(format!(
            "only {total} Autobahn cases ran; expected at least {AT_LEAST}"
        )));
    }
    println!("{total} passed, 0 failed");
    Ok(())
}
