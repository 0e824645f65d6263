//! `cargo nitrous dev`: build the app, run it on a socket this process holds, and on every change
//! to the sources rebuild it and swap the new build in under its clients.
//!
//! The swap, step by step: the listening socket is bound here once and handed to every build of
//! the app as its standard input (as inetd does; `nitrous::listen` takes it), so connections
//! queue in the kernel while no process accepts, and nothing is refused. The new build starts beside the
//! old one, with `NITROUS_DEV=1` and its own `NOTIFY_SOCKET`; once it sends `READY=1` (from
//! `nitrous::serve`), the old one gets SIGTERM: it stops accepting, closes its WebSocket peers
//! with 1012 (Service Restart), ends its event streams, answers what is in flight and exits. A
//! build that fails, or a new process that exits before it is ready, leaves the old one serving.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Failure;

/// Where the app listens unless `--addr` says otherwise: what `nitrous::listen` examples bind.
const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// How long a change waits for more changes before the build starts (an editor's save is often
/// several writes).
const SETTLE: Duration = Duration::from_millis(50);

/// How long a new build may take to say it is ready before it is swapped in anyway (an app that
/// serves with something other than `nitrous::serve` never says so).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an old build may take to stop accepting after SIGTERM (it says `STOPPING=1`).
const STOPPING_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stopped build may take to exit: `nitrous::serve`'s default grace, and a margin.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// How often the loop looks whether the running app exited by itself.
const POLL: Duration = Duration::from_millis(250);

/// What the loop waits for.
enum Event {
    /// Files under a watched folder changed.
    Changed(Vec<PathBuf>),
    /// Ctrl-C or SIGTERM: stop the app and exit.
    Stop,
}

/// `cargo nitrous dev [-p PKG] [--bin NAME] [--addr ADDR]`.
pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let options = Options::parse(args)?;
    let target = Target::find(&options)?;
    let listener = TcpListener::bind(&options.addr).map_err(|e| {
        Failure::Failed(format!(
            "error: cannot listen on {}: {e}; is another server running there? Pick another address with --addr",
            options.addr
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Failed(format!("error: the listening address: {e}")))?;
    let sockets = std::env::temp_dir().join(format!("cargo-nitrous-dev-{}", std::process::id()));
    std::fs::create_dir_all(&sockets)
        .map_err(|e| Failure::Failed(format!("error: cannot create {}: {e}", sockets.display())))?;
    let (events, incoming) = mpsc::channel();
    stop_on_signals(events.clone())?;
    let _watcher = watch(&target, events)?;
    say(&format!(
        "http://{addr}  (watching {}; Ctrl-C stops)",
        target.watched_summary()
    ));

    let mut dev = Dev {
        target,
        listener,
        addr,
        sockets,
        started: 0,
        running: None,
    };
    dev.rebuild(Instant::now());
    loop {
        match incoming.recv_timeout(POLL) {
            Ok(Event::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Event::Changed(paths)) => {
                let changed_at = Instant::now();
                let mut paths: BTreeSet<PathBuf> = paths.into_iter().collect();
                let mut stop = false;
                // Settle: collect what else changes until the files are quiet.
                loop {
                    match incoming.recv_timeout(SETTLE) {
                        Ok(Event::Changed(more)) => paths.extend(more),
                        Ok(Event::Stop) => {
                            stop = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if stop {
                    break;
                }
                let names: Vec<String> = paths.iter().map(|p| dev.target.relative(p)).collect();
                say(&format!("changed: {}", names.join(", ")));
                dev.rebuild(changed_at);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => dev.check_running(),
        }
    }
    if let Some(app) = dev.running.take() {
        say("stopping the app");
        app.stop();
    }
    let _ = std::fs::remove_dir_all(&dev.sockets);
    Ok(())
}

/// Prints a line of the dev loop's own, told apart from the app's output and cargo's.
fn say(message: &str) {
    eprintln!("nitrous dev: {message}");
}

struct Options {
    package: Option<String>,
    bin: Option<String>,
    addr: String,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, Failure> {
        let mut options = Options {
            package: None,
            bin: None,
            addr: DEFAULT_ADDR.to_owned(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
            };
            match arg.as_str() {
                "-p" | "--package" => options.package = Some(value(arg)?),
                "--bin" => options.bin = Some(value(arg)?),
                "--addr" => options.addr = value(arg)?,
                other => return Err(Failure::Usage(format!("unexpected argument `{other}`"))),
            }
        }
        Ok(options)
    }
}

/// What is built and watched: one binary of one package, and the workspace's package folders.
struct Target {
    package: String,
    bin: String,
    /// Every workspace member's folder: a change to a path dependency rebuilds the app too.
    members: Vec<PathBuf>,
    ignore: Ignore,
}

/// Which changes cannot matter to a build.
#[derive(Clone)]
struct Ignore {
    /// The workspace root; messages name paths relative to it.
    root: PathBuf,
    /// cargo's output.
    target_dir: PathBuf,
}

impl Ignore {
    /// Whether a change at `path` can matter to a build: not cargo's output, not a hidden file
    /// or folder (`.git`, an editor's swap file), not an editor's backup (`file~`).
    fn matters(&self, path: &Path) -> bool {
        if path.starts_with(&self.target_dir) {
            return false;
        }
        let inside = path.strip_prefix(&self.root).unwrap_or(path);
        !inside.components().any(|c| {
            let name = c.as_os_str().to_string_lossy();
            name.starts_with('.') || name.ends_with('~') || name == "target"
        })
    }
}

impl Target {
    /// The package and binary from `cargo metadata`, as `cargo run` picks them.
    fn find(options: &Options) -> Result<Target, Failure> {
        let output = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| Failure::Failed(format!("error: cannot run cargo: {e}")))?;
        if !output.status.success() {
            return Err(Failure::Failed(
                "error: `cargo metadata` failed (see above); run `cargo nitrous dev` in the app's folder"
                    .to_owned(),
            ));
        }
        let metadata: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| Failure::Failed(format!("error: cargo metadata's output: {e}")))?;
        let path = |v: &Value| PathBuf::from(v.as_str().unwrap_or_default());
        let root = path(&metadata["workspace_root"]);
        let target_dir = path(&metadata["target_directory"]);
        let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
        let members: Vec<PathBuf> = packages
            .iter()
            .filter_map(|p| Some(path(&p["manifest_path"]).parent()?.to_path_buf()))
            .collect();
        let with_bins: Vec<&Value> = packages.iter().filter(|p| !bins(p).is_empty()).collect();
        let package = match &options.package {
            Some(name) => packages
                .iter()
                .find(|p| p["name"] == name.as_str())
                .ok_or_else(|| {
                    Failure::Failed(format!("error: no package `{name}` in this workspace"))
                })?,
            None => {
                let here = std::env::current_dir().unwrap_or_default();
                let nearest = packages.iter().find(|p| {
                    path(&p["manifest_path"])
                        .parent()
                        .is_some_and(|dir| here.starts_with(dir) && dir != root)
                });
                match (nearest, with_bins.as_slice()) {
                    (Some(package), _) => package,
                    (None, [only]) => only,
                    (None, _) => {
                        let names: Vec<&str> = with_bins
                            .iter()
                            .filter_map(|p| p["name"].as_str())
                            .collect();
                        return Err(Failure::Failed(format!(
                            "error: this workspace has several packages with binaries ({}); pick one with -p PKG",
                            names.join(", ")
                        )));
                    }
                }
            }
        };
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let found = bins(package);
        let bin = match (&options.bin, found.as_slice()) {
            (Some(bin), _) if found.contains(bin) => bin.clone(),
            (Some(bin), _) => {
                return Err(Failure::Failed(format!(
                    "error: package `{name}` has no binary `{bin}` (it has: {})",
                    found.join(", ")
                )));
            }
            (None, []) => {
                return Err(Failure::Failed(format!(
                    "error: package `{name}` has no binary to run; the app's `src/main.rs` calls `nitrous::serve`"
                )));
            }
            (None, [only]) => only.clone(),
            (None, _) if found.contains(&name) => name.clone(),
            (None, _) => {
                return Err(Failure::Failed(format!(
                    "error: package `{name}` has several binaries ({}); pick one with --bin NAME",
                    found.join(", ")
                )));
            }
        };
        Ok(Target {
            package: name,
            bin,
            ignore: Ignore { root, target_dir },
            members,
        })
    }

    /// `path` relative to the workspace root, for messages.
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.ignore.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn watched_summary(&self) -> String {
        let names: Vec<String> = self
            .members
            .iter()
            .map(|dir| match self.relative(dir) {
                name if name.is_empty() => ".".to_owned(),
                name => name,
            })
            .collect();
        names.join(", ")
    }
}

/// The binary targets of a package in `cargo metadata`.
fn bins(package: &Value) -> Vec<String> {
    package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// Cargo, as cargo runs its subcommands (`$CARGO`), else from the `PATH`.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Sends [`Event::Stop`] on Ctrl-C or SIGTERM.
fn stop_on_signals(events: mpsc::Sender<Event>) -> Result<(), Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Failure::Failed(format!("error: cannot listen for Ctrl-C: {e}")))?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if events.send(Event::Stop).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Watches every member's folder (recursively, but for cargo's output and hidden folders).
fn watch(
    target: &Target,
    events: mpsc::Sender<Event>,
) -> Result<notify::RecommendedWatcher, Failure> {
    use notify::{EventKind, RecursiveMode, Watcher};

    let ignore = target.ignore.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| ignore.matters(p))
            .collect();
        if !paths.is_empty() {
            let _ = events.send(Event::Changed(paths));
        }
    })
    .map_err(|e| Failure::Failed(format!("error: cannot watch files: {e}")))?;
    let fail = |dir: &Path, e: notify::Error| {
        Failure::Failed(format!("error: cannot watch {}: {e}", dir.display()))
    };
    for member in &target.members {
        // The folder itself for its Cargo.toml and build.rs; each subfolder whole, but the ones
        // that are never sources (a member at the workspace root holds `target/`).
        watcher
            .watch(member, RecursiveMode::NonRecursive)
            .map_err(|e| fail(member, e))?;
        let entries = std::fs::read_dir(member).map_err(|e| {
            Failure::Failed(format!("error: cannot read {}: {e}", member.display()))
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && target.ignore.matters(&path) {
                watcher
                    .watch(&path, RecursiveMode::Recursive)
                    .map_err(|e| fail(&path, e))?;
            }
        }
    }
    Ok(watcher)
}

/// The loop's state.
struct Dev {
    target: Target,
    listener: TcpListener,
    addr: SocketAddr,
    /// A private folder for the notify sockets.
    sockets: PathBuf,
    /// How many builds were started, to name their notify sockets.
    started: usize,
    running: Option<App>,
}

impl Dev {
    /// Builds; if that gives a new binary, starts it and swaps it in.
    fn rebuild(&mut self, changed_at: Instant) {
        let built = match build(&self.target) {
            Ok(built) => built,
            Err(message) => return self.not_swapped(&message),
        };
        if built.fresh && self.running.is_some() {
            say("nothing to rebuild; the running app stays");
            return;
        }
        let built_in = changed_at.elapsed();
        match self.start(&built.executable) {
            Ok(app) => {
                let pid = app.child.id();
                let Some(mut old) = self.running.replace(app) else {
                    say(&format!(
                        "serving (pid {pid}), built in {:.2} s",
                        built_in.as_secs_f64()
                    ));
                    return;
                };
                // Once the old build stops accepting, every new connection is the new one's.
                old.terminate();
                std::thread::spawn(move || old.wait_exit());
                say(&format!(
                    "serving the new build (pid {pid}): built in {:.2} s, serving alone {:.2} s after the change",
                    built_in.as_secs_f64(),
                    changed_at.elapsed().as_secs_f64()
                ));
            }
            Err(message) => self.not_swapped(&message),
        }
    }

    /// Reports why no new build serves: the old one, if any, goes on.
    fn not_swapped(&self, message: &str) {
        let keeps = if self.running.is_some() {
            "; the running app keeps serving"
        } else {
            ""
        };
        say(&format!("{message}{keeps}; waiting for a change"));
    }

    /// Starts `executable` on the socket and waits until it says it is ready.
    fn start(&mut self, executable: &Path) -> Result<App, String> {
        self.started += 1;
        let notify_path = self.sockets.join(format!("{}.sock", self.started));
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path)
            .map_err(|e| format!("cannot create {}: {e}", notify_path.display()))?;
        let socket = self
            .listener
            .try_clone()
            .map_err(|e| format!("cannot hand over the listening socket: {e}"))?;
        let mut command = Command::new(executable);
        command
            .stdin(OwnedFd::from(socket))
            // A socket handed to this process is not the app's.
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDNAMES")
            .env("NOTIFY_SOCKET", &notify_path)
            .env("NITROUS_DEV", "1")
            .env("NITROUS_ADDR", self.addr.to_string());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", executable.display()))?;
        let waited = wait_for(&notify, &mut child, b"READY=1", READY_TIMEOUT);
        let app = App {
            child,
            notify,
            notify_path,
        };
        match waited {
            Said::Yes => Ok(app),
            Said::Exited(status) => Err(format!(
                "the new build exited ({status}) before it was ready; if it binds its own address, take the socket with `nitrous::listen(addr)` in `main`"
            )),
            Said::Nothing => {
                say(&format!(
                    "the new build did not say it was ready within {} s (does it serve with `nitrous::serve`?); swapping it in anyway",
                    READY_TIMEOUT.as_secs()
                ));
                Ok(app)
            }
        }
    }

    /// Reports an app that exited by itself (a panic in `main`, a port conflict).
    fn check_running(&mut self) {
        let Some(app) = &mut self.running else { return };
        if let Ok(Some(status)) = app.child.try_wait() {
            say(&format!(
                "the app exited ({status}); fix it and save, and it starts again"
            ));
            self.running = None;
        }
    }
}

/// A build's outcome.
struct Built {
    executable: PathBuf,
    /// Cargo had nothing to do.
    fresh: bool,
}

/// `cargo build -p PKG --bin BIN`, its diagnostics rendered to the terminal as cargo renders
/// them; the binary's path from its JSON messages.
fn build(target: &Target) -> Result<Built, String> {
    say(&format!("building {}", target.package));
    let mut child = Command::new(cargo())
        .args(["build", "--message-format=json-render-diagnostics", "-p"])
        .arg(&target.package)
        .arg("--bin")
        .arg(&target.bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut built = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact"
                && message["target"]["name"] == target.bin.as_str()
                && let Some(executable) = message["executable"].as_str()
            {
                built = Some(Built {
                    executable: PathBuf::from(executable),
                    fresh: message["fresh"] == true,
                });
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    match built {
        Some(built) if status.success() => Ok(built),
        _ => Err("the build failed (cargo's errors are above)".to_owned()),
    }
}

/// What a build said on its notify socket, or did instead.
enum Said {
    Yes,
    Exited(ExitStatus),
    Nothing,
}

/// Waits for the line `what` (`READY=1`, `STOPPING=1`) on `notify`, for the child to exit, or
/// for `limit`.
fn wait_for(notify: &UnixDatagram, child: &mut Child, what: &[u8], limit: Duration) -> Said {
    let deadline = Instant::now() + limit;
    // Short reads, so an exit is seen soon after it happens.
    let _ = notify.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = notify.recv(&mut buffer)
            && buffer[..n].split(|b| *b == b'\n').any(|l| l == what)
        {
            return Said::Yes;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Said::Exited(status);
        }
    }
    Said::Nothing
}

/// A running build of the app, and the socket it reports on.
struct App {
    child: Child,
    notify: UnixDatagram,
    notify_path: PathBuf,
}

impl App {
    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// SIGTERM; returns once the app has stopped accepting connections (or exited, or
    /// [`STOPPING_TIMEOUT`] passed). It goes on draining what it has.
    fn terminate(&mut self) {
        let _ = nix::sys::signal::kill(self.pid(), nix::sys::signal::Signal::SIGTERM);
        wait_for(
            &self.notify,
            &mut self.child,
            b"STOPPING=1",
            STOPPING_TIMEOUT,
        );
    }

    /// Stops the app: SIGTERM, then up to [`EXIT_TIMEOUT`] for it to drain and exit, then
    /// SIGKILL.
    fn stop(mut self) {
        self.terminate();
        self.wait_exit();
    }

    /// Waits up to [`EXIT_TIMEOUT`] for a terminated app to exit; then SIGKILL.
    fn wait_exit(self) {
        use nix::sys::signal::{Signal, kill};
        let pid = self.pid();
        let App {
            mut child,
            notify,
            notify_path,
        } = self;
        drop(notify);
        let _ = std::fs::remove_file(notify_path);
        let (exited, exit) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = child.wait();
            let _ = exited.send(());
        });
        if exit.recv_timeout(EXIT_TIMEOUT).is_err() {
            say(&format!(
                "pid {pid} did not exit within {} s of SIGTERM; killing it",
                EXIT_TIMEOUT.as_secs()
            ));
            let _ = kill(pid, Signal::SIGKILL);
        }
        let _ = waiter.join();
    }
}
