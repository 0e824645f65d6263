//! The system packages the tests need, Debian's: Chromium for the browser tests, `redis-server`
//! for the scale-out tests, `openssl` for the certificates of the TLS one. `cargo xtask ci` installs the missing ones with `apt-get`, so on a
//! fresh machine it is the whole set-up (never a tool's own browser download). `perf`, for
//! `cargo xtask bench --profile` only, is installed the same way when that runs.

use std::path::Path;
use std::process::Command;

use crate::{Failure, process};

/// Where the browser tests look for Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether what the tests use from a package is here.
type Present = fn() -> bool;

/// Each package, and how to tell it is installed.
const PACKAGES: &[(&str, Present)] = &[
    ("chromium", || Path::new(CHROMIUM).exists()),
    ("redis-server", || on_path("redis-server")),
    ("openssl", || on_path("openssl")),
];

/// Installs the missing packages the tests need.
pub(crate) fn ensure() -> Result<(), Failure> {
    install(PACKAGES)
}

/// Installs `perf` for `cargo xtask bench --profile` when it is missing.
pub(crate) fn ensure_perf() -> Result<(), Failure> {
    install(&[("linux-perf", || on_path("perf"))])
}

/// Installs the missing ones of `packages`: as root with `apt-get`, else through `sudo -n`.
fn install(packages: &[(&str, Present)]) -> Result<(), Failure> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, present)| !present())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let by_hand = format!("apt-get install -y {}", missing.join(" "));
    if !on_path("apt-get") {
        return Err(Failure::Failed(format!(
            "xtask needs {} and this machine has no apt-get: install them (Debian: `{by_hand}`)",
            missing.join(" and ")
        )));
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let apt = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        process::run_command(&mut command).map_err(|e| match e {
            Failure::Failed(why) => Failure::Failed(format!(
                "{why}\nxtask: could not install {} (as root, or with `sudo` without a password); install them by hand: `{by_hand}`",
                missing.join(" and ")
            )),
            other => other,
        })
    };
    eprintln!("xtask: installing {} (apt-get)", missing.join(", "));
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(&missing);
    apt(&install)
}

/// Whether `program` is an executable file in a folder of `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
