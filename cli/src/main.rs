//! `cargo nitrous`: tools for nitrous apps.
//!
//! - `cargo nitrous dev [-p PKG] [--bin NAME] [--addr ADDR]`: builds and runs the app, and on
//!   every change to its sources rebuilds it and swaps the new build in on the same socket: no
//!   connection refused, WebSocket peers told to reconnect (1012), pages told of the new version;
//! - `cargo nitrous new NAME`: a working app (an HTTP, a WebSocket and an SSE route) in `./NAME`;
//! - `cargo nitrous routes [--manifest-path PATH]`: the route table of an app, read from its
//!   sources without building it: for each `routes!` call, the table its `ROUTES` displays, or the
//!   errors the macro would report;
//! - `cargo nitrous types [--manifest-path PATH] [--out FILE] [--check]`: the TypeScript of the
//!   app's channel routes, for the browser client.
//!
//! Install with `cargo install --path cli` from a nitrous checkout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nitrous_routes::listing;

mod dev;
mod new;
mod types;

const USAGE: &str = "usage:
  cargo nitrous dev [-p PKG] [--bin NAME] [--addr ADDR]
                                                rebuild on every change and swap the app in, clients kept (ADDR: 127.0.0.1:3000)
  cargo nitrous new NAME [--nitrous PATH]       a working app in ./NAME (PATH: a nitrous checkout's runtime/)
  cargo nitrous routes [--manifest-path PATH]   the app's route table, without building it
  cargo nitrous types [--manifest-path PATH] [--out FILE] [--check]
                                                the channel routes' TypeScript, for nitrous-client (FILE: src/server/routes.ts);
                                                --check: fail when FILE is stale";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Run as `cargo nitrous ...`, cargo passes the subcommand's name first.
    if args.first().is_some_and(|a| a == "nitrous") {
        args.remove(0);
    }
    // `--help` anywhere (`cargo nitrous dev --help`), or `help [COMMAND]`, is a question: the
    // usage, and success.
    if args.first().is_some_and(|a| a == "help") || args.iter().any(|a| a == "-h" || a == "--help")
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(&args[1..]),
        Some("new") => new::run(&args[1..]),
        Some("routes") => routes(&args[1..]),
        Some("types") => types::run(&args[1..]),
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage(String::new())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            if !message.is_empty() {
                eprintln!("cargo nitrous: {message}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command stopped.
#[derive(Debug)]
enum Failure {
    /// The command line was wrong: print the usage, exit 2.
    Usage(String),
    /// The work failed, with what to print: exit 1.
    Failed(String),
}

/// `cargo nitrous routes [--manifest-path PATH]`.
fn routes(args: &[String]) -> Result<(), Failure> {
    let mut manifest: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest-path" => {
                let path = args
                    .next()
                    .ok_or_else(|| Failure::Usage("--manifest-path needs a value".to_owned()))?;
                manifest = Some(PathBuf::from(path));
            }
            other => return Err(Failure::Usage(format!("unexpected argument `{other}`"))),
        }
    }
    let manifest = match manifest {
        Some(path) => path,
        None => find_manifest()?,
    };
    if !manifest.is_file() {
        return Err(Failure::Failed(format!(
            "error: {} is not a file; pass the app's Cargo.toml with --manifest-path",
            manifest.display()
        )));
    }
    let crate_dir = manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    print!("{}", listings(&crate_dir)?);
    Ok(())
}

/// The listing of every `routes!` call under `crate_dir/src`: the bare table when there is one
/// call (what `println!("{ROUTES}")` prints), each headed by its file and call when there are
/// more. Any call with errors fails the whole command, with every error of every call.
fn listings(crate_dir: &Path) -> Result<String, Failure> {
    let calls = listing::find_calls(crate_dir);
    if calls.is_empty() {
        return Err(Failure::Failed(format!(
            "error: no `nitrous::routes!` call in the .rs files under {}; the app's `main.rs` (or `lib.rs`) calls `nitrous::routes!();`",
            crate_dir.join("src").display()
        )));
    }
    let mut out = String::new();
    let mut failed = String::new();
    let several = calls.len() > 1;
    for (i, call) in calls.iter().enumerate() {
        let file = call.file.strip_prefix(crate_dir).unwrap_or(&call.file);
        let heading = format!("{}: routes!({})", file.display(), call.input);
        match listing::list(call.input.clone(), crate_dir, call.file.parent()) {
            Ok(table) if several => {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("{heading}\n{table}"));
            }
            Ok(table) => out.push_str(&table.to_string()),
            Err(e) => failed.push_str(&format!("{heading}\n{e}\n")),
        }
    }
    if failed.is_empty() {
        Ok(out)
    } else {
        Err(Failure::Failed(failed.trim_end().to_owned()))
    }
}

/// The nearest `Cargo.toml` from the current folder up, as cargo finds it.
fn find_manifest() -> Result<PathBuf, Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::Failed(format!("error: the current folder: {e}")))?;
    cwd.ancestors()
        .map(|dir| dir.join("Cargo.toml"))
        .find(|manifest| manifest.is_file())
        .ok_or_else(|| {
            Failure::Failed(format!(
                "error: no Cargo.toml in {} or above; pass --manifest-path",
                cwd.display()
            ))
        })
}
