//! Commands the rigs run to completion, and Python virtualenvs. The servers they start for a
//! client to hit are `nitrous_support::Process`es.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Failure;

/// A virtualenv at `venv` with `packages` (pinned `name==version`) installed; made once, reused
/// while its recorded package list is the same. Returns the venv folder.
pub(crate) fn venv(venv: &Path, packages: &[&str]) -> Result<PathBuf, Failure> {
    let stamp = venv.join("nitrous-packages.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(venv.to_path_buf());
    }
    let venv_arg = venv.to_string_lossy().into_owned();
    run(Path::new("python3"), &["-m", "venv", &venv_arg])?;
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend_from_slice(packages);
    run(&venv.join("bin/pip"), &args)?;
    std::fs::write(&stamp, wanted)
        .map_err(|e| Failure::Failed(format!("{}: {e}", stamp.display())))?;
    Ok(venv.to_path_buf())
}

/// Runs a command with inherited output; fails unless it succeeds.
pub(crate) fn run(program: &Path, args: &[&str]) -> Result<(), Failure> {
    run_command(Command::new(program).args(args))
}

pub(crate) fn run_command(command: &mut Command) -> Result<(), Failure> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| Failure::Failed(format!("cannot run {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Failed(format!("{shown} failed ({status})")))
    }
}
