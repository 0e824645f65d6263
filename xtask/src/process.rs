//! Processes the test rigs run: a server started for a client to hit, and Python virtualenvs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::Failure;

/// A server process, stopped (and reaped) on drop.
pub(crate) struct Server {
    child: Child,
    /// What `ready` picked out of the server's output: its address.
    pub(crate) addr: String,
}

impl Server {
    /// Starts `binary` and reads its output until `ready` finds the address in a line.
    pub(crate) fn start(
        binary: &Path,
        args: &[&str],
        ready: impl Fn(&str) -> Option<String>,
    ) -> Result<Server, Failure> {
        let mut command = Command::new(binary);
        command.args(args);
        Server::start_command(command, ready)
    }

    /// [`Server::start`] for a command set up by the caller (environment, arguments).
    pub(crate) fn start_command(
        mut command: Command,
        ready: impl Fn(&str) -> Option<String>,
    ) -> Result<Server, Failure> {
        let binary = PathBuf::from(command.get_program());
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Failed(format!("cannot start {}: {e}", binary.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(Failure::Failed("the server has no stdout".to_owned()));
        };
        let mut lines = BufReader::new(stdout).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| ready(&line));
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Failed(format!(
                "{} exited without printing its address",
                binary.display()
            )));
        };
        // Keep draining its output so a chatty server never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Server { child, addr })
    }

    /// Ctrl-C, as a user stops it, and waits for it to exit.
    pub(crate) fn interrupt(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

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
