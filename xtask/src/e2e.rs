//! `cargo xtask e2e`: the chat example driven by clients nitrous did not write. Python's
//! `websockets` and `httpx-sse` hold the seed's conversation and read the clock; headless Chromium
//! (Debian's, driven by `playwright-core`) runs two pages of the chat, restarts the app to see the
//! page reconnect, and saves a screenshot at `target/e2e/chat.png`; serves it over HTTPS, where
//! Chromium's page, ten event streams and WebSocket share one HTTP/2 connection; then it runs the page under
//! `cargo nitrous dev` through an edit of a route and of the page. Last, the README's Vite
//! dev-proxy recipe: the page served by Vite (pinned in the lockfile), `/api` and `/ws` proxied to
//! `cargo nitrous dev` through a swap, and the upgrade `changeOrigin: true` gets refused.

use std::process::Command;

use nitrous_support::Process;

use crate::{Failure, cargo, process, system, workspace_root};

pub(crate) fn run() -> Result<(), Failure> {
    let root = workspace_root();
    let e2e = root.join("examples/chat/e2e");
    // Chromium and redis-server, installed when missing (Debian's; never a tool's own download).
    system::ensure()?;
    process::run_command(cargo().args([
        "build",
        "--quiet",
        "--package",
        "chat",
        "--package",
        "cargo-nitrous",
        // the HTTPS test reads the app's metrics at /metrics
        "--features",
        "chat/prometheus",
    ]))?;
    let requirements = std::fs::read_to_string(e2e.join("requirements.txt"))
        .map_err(|e| Failure::Failed(format!("requirements.txt: {e}")))?;
    let packages: Vec<&str> = requirements
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let venv = process::venv(&root.join("target/e2e/venv"), &packages)?;
    if !["playwright-core", "vite"]
        .iter()
        .all(|package| e2e.join("node_modules").join(package).exists())
    {
        process::run_command(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&e2e),
        )?;
    }

    // The page's TypeScript is what the route files say (`cargo nitrous types`).
    process::run_command(
        Command::new(root.join("target/debug/cargo-nitrous"))
            .args(["nitrous", "types", "--check", "--manifest-path"])
            .arg(root.join("examples/chat/Cargo.toml")),
    )?;
    // A copy of the app as built here (with its metrics): the tests' `cargo nitrous dev -p chat`
    // rebuilds target/debug/chat without them while the other tests still start it.
    let chat = root.join("target/e2e/chat");
    std::fs::create_dir_all(root.join("target/e2e"))
        .and_then(|()| std::fs::copy(root.join("target/debug/chat"), &chat))
        .map_err(|e| Failure::Failed(format!("copying the chat app to {}: {e}", chat.display())))?;
    let mut command = Command::new(&chat);
    command.args(["--addr", "127.0.0.1:0"]);
    let (server, addr) = Process::start(command, |line| {
        line.strip_prefix("chat: listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    })?;
    eprintln!("e2e: chat app at {addr}");

    let python = venv.join("bin/python");
    process::run_command(Command::new(python).arg(e2e.join("clients.py")).arg(&addr))?;
    let screenshot = root.join("target/e2e/chat.png");
    drop(server);
    // The browser tests start (and restart) the app themselves, to see the page reconnect. One
    // file at a time: both run `cargo nitrous dev` here and edit the same route file.
    process::run_command(
        Command::new("node")
            .args([
                "--test",
                "--test-concurrency=1",
                "chat.test.mjs",
                "https.test.mjs",
                "vite.test.mjs",
            ])
            .current_dir(&e2e)
            .env("CHAT_BIN", &chat)
            .env("NITROUS_CLI", root.join("target/debug/cargo-nitrous"))
            .env("SCREENSHOT", &screenshot),
    )?;
    eprintln!("e2e: screenshot at {}", screenshot.display());
    Ok(())
}
