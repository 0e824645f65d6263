//! `NITROUS_BENCH_SERVER_CPUS`: the servers run on these CPUs only (`taskset -c`). Whoever starts
//! the load generator pins it to the other CPUs (`cargo xtask bench --pin` does both), so no
//! server shares a core with the clients that measure it, and every server gets the same cores:
//! on a small machine, a server with more threads than Bun's one otherwise competes with the
//! clients for every core, and pays for it in preemptions.

use std::ffi::OsStr;
use std::process::Command;

pub(crate) use nitrous_support::bench::SERVER_CPUS_ENV;

/// The servers' CPUs, when they are set.
pub(crate) fn server_cpus() -> Option<String> {
    std::env::var(SERVER_CPUS_ENV)
        .ok()
        .filter(|cpus| !cpus.is_empty())
}

/// A command that runs `program`: on the servers' CPUs when they are set (`taskset` execs it, so
/// the process started is the server itself).
pub(crate) fn server_command(program: impl AsRef<OsStr>) -> Command {
    match server_cpus() {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    }
}
