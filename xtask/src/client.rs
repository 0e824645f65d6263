//! `cargo xtask client`: the browser client's tests (`client/`, npm `nitrous-client`): `npm ci`
//! when its packages were never installed, then `npm test` (tsc, then `node --test`).

use std::process::Command;

use crate::{Failure, process, workspace_root};

pub(crate) fn run() -> Result<(), Failure> {
    let client = workspace_root().join("client");
    if !client.join("node_modules/.package-lock.json").exists() {
        process::run_command(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&client),
        )?;
    }
    process::run_command(Command::new("npm").arg("test").current_dir(&client))
}
