//! `cargo xtask ci | autobahn | e2e | client | bench | dev-loop`: the project's script runner.

mod autobahn;
mod bench;
mod ci;
mod client;
mod dev_loop;
mod e2e;
mod process;
mod system;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  cargo xtask ci                                  fmt --check, clippy -D warnings, every test, client, autobahn, e2e
  cargo xtask autobahn                            the Autobahn TestSuite (1-7, 9, 10) against /ws/echo
  cargo xtask e2e                                 the chat example in Chromium and in Python clients
  cargo xtask client                              the browser client's tests (client/: tsc, node --test)
  cargo xtask dev-loop [--edits N]                edit-to-serving time of `cargo nitrous dev` on the chat example
  cargo xtask bench [--quick] [--scale|--profile] [--pin]
                                                  the benchmarks of BENCHMARKS.md (re-runs itself in release);
                                                  --scale: only the rooms at scale; --profile: where each
                                                  server's CPU goes, by perf (nitrous, tuned axum, Bun);
                                                  --pin: the servers on the last CPU, the load on the others";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") if args.len() == 1 => ci::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("autobahn") if args.len() == 1 => autobahn::run(),
        Some("e2e") if args.len() == 1 => e2e::run(),
        Some("client") if args.len() == 1 => client::run(),
        Some("dev-loop") => dev_loop::run(&args[1..]),
        _ => Err(Failure::Usage(String::new())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            if !message.is_empty() {
                eprintln!("xtask: {message}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Exit(code)) => ExitCode::from(code),
    }
}

/// Why a subcommand stopped.
#[derive(Debug)]
enum Failure {
    /// The command line was wrong: print the usage, exit 2.
    Usage(String),
    /// The work failed: exit 1.
    Failed(String),
    /// A child process that already said why it failed: exit with its code.
    Exit(u8),
}

impl From<nitrous_support::Error> for Failure {
    fn from(error: nitrous_support::Error) -> Failure {
        Failure::Failed(error.to_string())
    }
}

/// The workspace root: xtask's own folder's parent.
fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().map_or(xtask.clone(), PathBuf::from)
}

fn cargo() -> std::process::Command {
    let mut command =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(workspace_root());
    command
}

/// Where cargo puts what it builds, as `cargo metadata` says: `CARGO_TARGET_DIR`,
/// `build.target-dir` in a config file, or the workspace's `target/`.
fn target_dir() -> Result<PathBuf, Failure> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| Failure::Failed(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Failed(format!(
            "cargo metadata failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Failure::Failed(format!("cargo metadata: {e}")))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Failure::Failed("cargo metadata names no target_directory".to_owned()))
}
