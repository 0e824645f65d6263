//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure; first it installs the
//! system packages the tests need when they are missing.

use crate::{Failure, cargo};

const STEPS: &[(&str, &[&str])] = &[
    ("format", &["fmt", "--all", "--", "--check"]),
    (
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    // The four published crates packaged and built from their packages alone, as crates.io
    // would (publish = false members are skipped); before the tests, which write files.
    ("package", &["package", "--workspace"]),
    ("tests", &["test", "--workspace"]),
];

pub(crate) fn run() -> Result<(), Failure> {
    eprintln!("xtask ci: system packages (Chromium, redis-server)");
    crate::system::ensure()?;
    for (name, args) in STEPS {
        eprintln!("xtask ci: {name}: cargo {}", args.join(" "));
        let status = cargo()
            .args(*args)
            .status()
            .map_err(|e| Failure::Failed(format!("{name}: cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(Failure::Failed(format!(
                "{name} failed ({status}): cargo {}",
                args.join(" ")
            )));
        }
    }
    eprintln!("xtask ci: client");
    crate::client::run()?;
    eprintln!("xtask ci: autobahn");
    crate::autobahn::run()?;
    eprintln!("xtask ci: e2e");
    crate::e2e::run()?;
    eprintln!("xtask ci: all steps passed");
    Ok(())
}
