//! Child processes for tests that need a server of their own: a `fixture-server` whose memory is
//! measured alone, or a `redis-server`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process killed (and reaped) on drop.
pub(crate) struct Process(pub Child);

impl Process {
    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` and reads its stdout until `ready` finds what it waits for in a line; the
/// rest of the output is drained on a thread.
pub(crate) fn start(
    mut command: Command,
    ready: impl Fn(&str) -> Option<String>,
) -> (Process, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let process = Process(child);
    let mut lines = BufReader::new(stdout).lines();
    let found = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| ready(&line));
    let found = found.unwrap_or_else(|| panic!("{command:?} ended before it was ready"));
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (process, found)
}

/// Starts the fixture app's server (`src/bin/fixture-server.rs`) with `command` set up by the
/// caller (environment, limits); returns it and the address it serves.
pub(crate) fn fixture_server(command: Command) -> (Process, String) {
    start(command, |line| {
        Some(line.trim().to_owned()).filter(|l| !l.is_empty())
    })
}

/// A command that runs the fixture server on a free port.
pub(crate) fn fixture_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fixture-server"));
    command.arg("0");
    command
}

/// A field of `/proc/PID/status` in KiB: `VmRSS` (resident now) or `VmHWM` (the peak).
pub(crate) fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
