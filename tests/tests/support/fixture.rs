//! The fixture app's server (`src/bin/fixture-server.rs`) in a process of its own, for tests that
//! measure its memory alone, signal it, or run two of it against one Redis.

use std::process::Command;

use nitrous_support::Process;

/// Starts the fixture server with `command` set up by the caller (environment, limits); returns
/// it and the address it serves.
pub(crate) fn fixture_server(command: Command) -> (Process, String) {
    Process::start(command, |line| {
        Some(line.trim().to_owned()).filter(|l| !l.is_empty())
    })
    .expect("the fixture server")
}

/// A command that runs the fixture server on a free port.
pub(crate) fn fixture_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fixture-server"));
    command.arg("0");
    command
}
