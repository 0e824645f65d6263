//! `cargo xtask client`: the browser client's tests (`client/`, npm `nitrous-client`): `npm ci`
//! when its packages were never installed, then `npm test` (tsc, then `node --test`). The chat
//! example is built first and its binary passed as `CHAT_BIN`, so `client/test/server.test.mjs`
//! runs the client against the real server (and `redis-server`) rather than skipping.

use std::process::Command;

use crate::{Failure, cargo, process, target_dir, workspace_root};

pub(crate) fn run() -> Result<(), Failure> {
    let client = workspace_root().join("client");
    if !client.join("node_modules/.package-lock.json").exists() {
        process::run_command(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&client),
        )?;
    }
    process::run_command(cargo().args(["build", "--quiet", "--package", "chat"]))?;
    let chat = target_dir()?.join("debug/chat");
    if !chat.is_file() {
        return Err(Failure::Failed(format!(
            "the chat example was built, but {} is not there",
            chat.display()
        )));
    }
    process::run_command(
        Command::new("npm")
            .arg("test")
            .current_dir(&client)
            .env("CHAT_BIN", &chat),
    )
}
