//! A child process that cannot outlive its owner, and starting one until it says it is ready.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::Error;

/// How long [`Process::start`] waits for the line that says the process is ready.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// How many of its last lines a process that never got ready is reported with.
const SHOWN_LINES: usize = 20;

/// A child process, killed (`SIGKILL`) and reaped on drop, however its owner ends: a test that
/// panics leaves no server behind.
#[derive(Debug)]
pub struct Process {
    child: Child,
}

/// The signals a test or a tool sends a child ([`Process::signal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `SIGINT`, Ctrl-C: how a user stops a server in a terminal.
    Interrupt,
    /// `SIGTERM`: how a supervisor (systemd, `cargo nitrous dev`) stops one.
    Terminate,
    /// `SIGSTOP`: the process is frozen, its sockets open and unread (a stalled server).
    Stop,
    /// `SIGCONT`: a stopped process goes on.
    Continue,
}

impl Signal {
    /// The name `kill -NAME` takes.
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "INT",
            Signal::Terminate => "TERM",
            Signal::Stop => "STOP",
            Signal::Continue => "CONT",
        }
    }
}

impl Process {
    /// Owns `child` from now on: it is killed and reaped when this is dropped.
    pub fn new(child: Child) -> Process {
        Process { child }
    }

    /// Spawns `command` as it is set up (its pipes included).
    pub fn spawn(command: &mut Command) -> Result<Process, Error> {
        let child = command
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {}: {e}", program(command))))?;
        Ok(Process::new(child))
    }

    /// Spawns `command` with its stdout piped and reads it line by line (without the line end)
    /// until `ready` finds what it waits for in a line (a server's address, say); returns the
    /// process and what `ready` returned. The rest of the output is read and dropped on a thread, so a chatty process never
    /// blocks on a full pipe. Fails, with the last lines the process printed, if it ends first or
    /// is not ready within [`READY_WITHIN`] (it is killed then).
    pub fn start(
        mut command: Command,
        mut ready: impl FnMut(&str) -> Option<String>,
    ) -> Result<(Process, String), Error> {
        let program = program(&command);
        let mut process = Process::spawn(command.stdout(Stdio::piped()))?;
        let Some(stdout) = process.child.stdout.take() else {
            return Err(Error::new(format!("{program} has no stdout")));
        };
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = Vec::new();
            // Bytes, not `lines()`: a line that is not UTF-8 must not stop the draining.
            while stdout.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                let text = String::from_utf8_lossy(text).into_owned();
                let _ = send.send(text); // nobody listens once the process is ready
                line.clear();
            }
        });
        let deadline = Instant::now() + READY_WITHIN;
        let mut printed = VecDeque::with_capacity(SHOWN_LINES);
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(found) = ready(&line) {
                        return Ok((process, found));
                    }
                    if printed.len() == SHOWN_LINES {
                        printed.pop_front();
                    }
                    printed.push_back(line);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Its stdout closed: it has exited, or is killed now (a kill leaves the
                    // status of one that already exited as it was).
                    let status = process.kill();
                    let status = status.map_or("no exit status".to_owned(), |s| s.to_string());
                    return Err(not_ready(&program, &format!("ended ({status})"), printed));
                }
                Err(RecvTimeoutError::Timeout) => {
                    process.kill();
                    let waited = format!("was not ready within {} s", READY_WITHIN.as_secs());
                    return Err(not_ready(&program, &waited, printed));
                }
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, for its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Sends `signal` (through the `kill` command). Fails if the process has exited: its id may
    /// belong to another process by now.
    pub fn signal(&mut self, signal: Signal) -> Result<(), Error> {
        let pid = self.pid();
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(Error::new(format!(
                "process {pid} has exited ({status}); no SIG{} sent",
                signal.name()
            )));
        }
        let sent = Command::new("kill")
            .arg(format!("-{}", signal.name()))
            .arg(pid.to_string())
            .status()
            .map_err(|e| Error::new(format!("cannot run kill: {e}")))?;
        if sent.success() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "kill -{} {pid} failed ({sent})",
                signal.name()
            )))
        }
    }

    /// Sends `signal` and waits for the process to exit (at once if it has already).
    pub fn stop_with(&mut self, signal: Signal) -> Result<ExitStatus, Error> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Ok(status);
        }
        self.signal(signal)?;
        self.wait()
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> Result<ExitStatus, Error> {
        self.child
            .wait()
            .map_err(|e| Error::new(format!("waiting for process {}: {e}", self.pid())))
    }

    /// Kills it (`SIGKILL`) unless it has exited, and reaps it; its exit status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn program(command: &Command) -> String {
    command.get_program().to_string_lossy().into_owned()
}

fn not_ready(program: &str, what: &str, printed: VecDeque<String>) -> Error {
    let mut message = format!("{program} {what} before it was ready");
    if printed.is_empty() {
        message.push_str(", printing nothing");
    } else {
        message.push_str("; it printed (last lines):");
        for line in printed {
            message.push_str("\n  ");
            message.push_str(&line);
        }
    }
    Error::new(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn start_returns_what_the_ready_line_says_and_drains_the_rest() {
        // 1 MiB after the ready line: more than a pipe holds, so the process exits only if
        // something goes on reading.
        let script = "echo starting; echo 'listening on 127.0.0.1:4000'; \
                      head -c 1048576 /dev/zero; exit 3";
        let (mut process, addr) = Process::start(shell(script), |line| {
            line.strip_prefix("listening on ").map(str::to_owned)
        })
        .unwrap();
        assert_eq!(addr, "127.0.0.1:4000");
        assert_eq!(process.wait().unwrap().code(), Some(3));
    }

    #[test]
    fn a_process_that_ends_before_it_is_ready_is_an_error_with_what_it_printed() {
        let error = Process::start(shell("echo one; echo two >&1; exit 1"), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("sh ended (exit status: 1) before it was ready"),
            "{error}"
        );
        assert!(error.ends_with("\n  one\n  two"), "{error}");
        let error = Process::start(Command::new("no-such-program-here"), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot start no-such-program-here: "),
            "{error}"
        );
    }

    #[test]
    fn drop_kills_and_reaps_and_an_exited_process_takes_no_signal() {
        let (mut process, _) = Process::start(shell("echo ready; exec sleep 600"), |line| {
            (line == "ready").then(String::new)
        })
        .unwrap();
        let pid = process.pid();
        process.signal(Signal::Stop).unwrap();
        process.signal(Signal::Continue).unwrap();
        assert_eq!(
            process.stop_with(Signal::Terminate).unwrap().to_string(),
            "signal: 15 (SIGTERM)"
        );
        let refused = process.signal(Signal::Interrupt).unwrap_err().to_string();
        assert!(refused.contains("has exited"), "{refused}");

        let child = Command::new("sleep").arg("600").spawn().unwrap();
        let pid_dropped = child.id();
        drop(Process::new(child));
        // Reaped, so not even a zombie is left.
        assert!(!std::path::Path::new(&format!("/proc/{pid_dropped}")).exists());
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
