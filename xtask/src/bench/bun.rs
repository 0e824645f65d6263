//! Bun for the bench's Bun server (`tests/bench-bun/server.js`): the npm package `bun`, pinned in
//! `tests/bench-bun/package.json` and its lockfile, installed with `npm ci` into
//! `target/bench/bun` (the package's own postinstall puts the platform's binary in place; never an
//! install script from the web). Installed once, again only when the pin changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Failure, process, workspace_root};

/// The files that pin Bun, copied into the install's folder for `npm ci`.
const PINS: &[&str] = &["package.json", "package-lock.json"];

/// Written once `npm ci` succeeded: both pins as they were installed, so a changed pin (or a
/// failed install) installs again.
const STAMP: &str = "nitrous-installed.txt";

/// The `bun` binary, installed under `out/bun` when it is not there yet; `None` when npm is not on
/// the PATH (the bench then runs without Bun and says so).
pub(crate) fn ensure(out: &Path) -> Result<Option<PathBuf>, Failure> {
    let source = workspace_root().join("tests/bench-bun");
    let dir = out.join("bun");
    let bun = dir.join("node_modules/.bin/bun");
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))
    };
    let mut pinned = Vec::new();
    for name in PINS {
        pinned.push((*name, read(source.join(name))?));
    }
    let stamp: Vec<u8> = pinned.iter().flat_map(|(_, text)| text.clone()).collect();
    let installed = std::fs::read(dir.join(STAMP)).is_ok_and(|have| have == stamp);
    if !(installed && bun.is_file()) {
        if Command::new("npm").arg("--version").output().is_err() {
            eprintln!("xtask bench: no npm on the PATH; the bench runs without Bun");
            return Ok(None);
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::Failed(format!("{}: {e}", dir.display())))?;
        for (name, text) in &pinned {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
        }
        process::run_command(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
        )?;
        let path = dir.join(STAMP);
        std::fs::write(&path, stamp)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    }
    let version = Command::new(&bun)
        .arg("--version")
        .output()
        .map_err(|e| Failure::Failed(format!("cannot run {}: {e}", bun.display())))?;
    if !version.status.success() {
        return Err(Failure::Failed(format!(
            "{} --version failed ({}); did the npm package's postinstall run? {}",
            bun.display(),
            version.status,
            String::from_utf8_lossy(&version.stderr)
        )));
    }
    eprintln!(
        "xtask bench: Bun {} ({})",
        String::from_utf8_lossy(&version.stdout).trim(),
        bun.display()
    );
    Ok(Some(bun))
}
