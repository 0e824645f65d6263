//! The servers the bench starts: a process whose address it prints, stopped (and reaped) on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::Failure;

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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
