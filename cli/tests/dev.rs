//! `cargo nitrous dev` on a new app, as a user runs it: a WebSocket client, two event streams and
//! an HTTP client requesting every 50 ms stay with the app while a route file is edited, broken
//! and fixed, while a build that panics at start is refused, and when a middleware file is added.
//!
//! The app is built into `target/new-app-test`, beside the one `tests/new.rs` builds, so the
//! dependencies compile once; the workspace's lock file pins them, so it needs no network.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::{SinkExt, Stream, StreamExt};
use nitrous_support::{Process, Signal};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A middleware file added while the dev loop runs.
const TAG: &str = "use nitrous::axum::extract::Request;\nuse nitrous::axum::http::HeaderValue;\nuse nitrous::axum::middleware::Next;\nuse nitrous::axum::response::Response;\n\n#[nitrous::middleware]\npub async fn tag(request: Request, next: Next) -> Response {\n    let mut response = next.run(request).await;\n    response.headers_mut().insert(\"x-tagged\", HeaderValue::from_static(\"yes\"));\n    response\n}\n";

/// The first build compiles the app's dependencies (when `tests/new.rs` has not yet).
const FIRST_BUILD: Duration = Duration::from_secs(600);
/// A rebuild after an edit of one route file.
const REBUILD: Duration = Duration::from_secs(180);
/// Anything a running server does.
const WAIT: Duration = Duration::from_secs(10);

/// `cargo nitrous dev` running, with every line it (and cargo, and the app) prints.
struct Dev {
    /// Killed and reaped when the test ends, however it ends.
    process: Process,
    lines: mpsc::UnboundedReceiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Dev {
    fn start(app: &Path) -> Dev {
        let mut process = Process::spawn(
            Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
                .args(["nitrous", "dev", "--addr", "127.0.0.1:0"])
                .current_dir(app)
                .env("CARGO_TARGET_DIR", support::apps_target())
                .env("CARGO_NET_OFFLINE", "true")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .expect("run cargo-nitrous");
        let child = process.child_mut();
        let (send, lines) = mpsc::unbounded_channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for pipe in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let (send, log) = (send.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(line.clone());
                    let _ = send.send(line);
                }
            });
        }
        Dev {
            process,
            lines,
            log,
        }
    }

    /// Everything printed so far, for a failure's message.
    fn printed(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for the dev loop to exit; kills it and fails after `limit`.
    fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.process.pid() as i32);
        let child = self.process.child_mut();
        std::thread::scope(|scope| {
            let (exited, exit) = std::sync::mpsc::channel();
            scope.spawn(move || {
                let _ = exited.send(child.wait());
            });
            match exit.recv_timeout(limit) {
                Ok(status) => status.expect("the exit status"),
                Err(_) => {
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    panic!("cargo nitrous dev did not exit within {limit:?}");
                }
            }
        })
    }

    /// The next line that starts with `prefix`, within `limit`.
    async fn line(&mut self, prefix: &str, limit: Duration) -> String {
        let found = tokio::time::timeout(limit, async {
            while let Some(line) = self.lines.recv().await {
                if line.starts_with(prefix) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "cargo nitrous dev ended before `{prefix}`:\n{}",
                self.printed()
            ),
            Err(_) => panic!("no `{prefix}` within {limit:?}:\n{}", self.printed()),
        }
    }
}

/// `cargo nitrous new NAME` in a fresh folder, with the workspace's lock file.
fn new_app(name: &str) -> (PathBuf, PathBuf) {
    let parent = std::env::temp_dir().join(format!("cargo-nitrous-dev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let created = Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(["nitrous", "new", name])
        .current_dir(&parent)
        .output()
        .expect("run cargo-nitrous");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let app = parent.join(name);
    support::pin_versions(&app);
    (parent, app)
}

fn version_route(body: &str) -> String {
    format!(
        "//! `GET /api/version`: which build answers.\n\n#[nitrous::get]\npub async fn get() -> &'static str {{\n    {body}\n}}\n"
    )
}

/// What one request got, and when it was sent.
type Answer = (Instant, Result<String, String>);

/// Requests `/api/version` every 50 ms, each on a new connection, until told to stop; what each
/// request got, in order.
fn poll_version(
    addr: String,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Answer>> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(WAIT)
            .build()
            .unwrap();
        let mut seen = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() {
            tick.tick().await;
            let sent = Instant::now();
            let answer = async {
                let response = client
                    .get(format!("http://{addr}/api/version"))
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                if !response.status().is_success() {
                    return Err(format!("status {}", response.status()));
                }
                response.text().await.map_err(|e| format!("{e:?}"))
            };
            seen.push((sent, answer.await));
        }
        seen
    })
}

type Events = std::pin::Pin<Box<dyn Stream<Item = eventsource_stream::Event> + Send>>;

async fn events(addr: &str, path: &str) -> Events {
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("the event stream");
    assert_eq!(response.status(), 200, "{path}");
    Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|event| event.expect("a well-formed event")),
    )
}

async fn next_event(events: &mut Events) -> Option<eventsource_stream::Event> {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event, or the end, within 10 s")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The echo route, opened as a page at `http://localhost:PORT` would open it.
async fn echo(addr: &str) -> Socket {
    let port = addr.rsplit(':').next().unwrap();
    let mut request = format!("ws://{addr}/ws/echo")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "origin",
        format!("http://localhost:{port}").parse().unwrap(),
    );
    let (mut socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake within 10 s")
        .expect("a page on localhost may open a socket on 127.0.0.1 in dev");
    assert_eq!(read(&mut socket).await, Message::text("welcome"));
    socket
}

async fn read(socket: &mut Socket) -> Message {
    tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("a message within 10 s")
        .expect("the socket goes on")
        .expect("a well-formed frame")
}

async fn echoes(socket: &mut Socket) {
    socket.send(Message::text("ping")).await.unwrap();
    assert_eq!(read(socket).await, Message::text("ping"));
    socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(read(socket).await, Message::binary(vec![1u8, 2, 3]));
}

async fn get(addr: &str, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_swapped_in_under_connected_clients_and_a_broken_edit_keeps_the_old_app() {
    let (parent, app) = new_app("dev-app");
    let routes = app.join("src/server/routes");
    let version = routes.join("version.get.rs");
    std::fs::write(&version, version_route("\"v1\"")).unwrap();
    std::fs::write(
        routes.join("page.get.rs"),
        "//! `GET /api/page`: an HTML page.\n\nuse nitrous::axum::response::Html;\n\n#[nitrous::get]\npub async fn get() -> Html<&'static str> {\n    Html(\"<html><body><h1>page</h1></body></html>\")\n}\n",
    )
    .unwrap();

    let mut dev = Dev::start(&app);
    let listening = dev.line("nitrous dev: http://", WAIT).await;
    let addr = listening["nitrous dev: http://".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    dev.line("nitrous dev: serving", FIRST_BUILD).await;

    // Dev only: the page gets the reload script.
    let page = get(&addr, "/api/page").await.text().await.unwrap();
    assert_eq!(
        page,
        "<html><body><h1>page</h1><script src=\"/__nitrous/dev.js\"></script></body></html>"
    );
    let script = get(&addr, "/__nitrous/dev.js").await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("nitrous:update"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let poller = poll_version(addr.clone(), stopped);
    let mut socket = echo(&addr).await;
    echoes(&mut socket).await;
    let mut clock = events(&addr, "/api/clock").await;
    assert_eq!(next_event(&mut clock).await.unwrap().data, "tick 1");
    let mut reload = events(&addr, "/__nitrous/dev").await;
    let first = next_event(&mut reload).await.unwrap();
    assert_eq!(first.event, "version");

    // An edit: the new build answers; the old one told its clients.
    std::fs::write(&version, version_route("\"v2\"")).unwrap();
    dev.line("nitrous dev: serving the new build", REBUILD)
        .await;
    let v2_alone = Instant::now();
    match tokio::time::timeout(WAIT, socket.next()).await {
        Ok(Some(Ok(Message::Close(Some(frame))))) => {
            assert_eq!(frame.code, CloseCode::Restart, "1012: come back at once");
        }
        other => panic!("expected close 1012, got {other:?}"),
    }
    let mut ticks = 0;
    while let Some(event) = next_event(&mut clock).await {
        assert!(event.data.starts_with("tick "), "{event:?}");
        ticks += 1;
        assert!(ticks < 20, "the old app's event stream did not end");
    }
    assert!(
        next_event(&mut reload).await.is_none(),
        "the old app's reload stream ends"
    );
    let mut reload = events(&addr, "/__nitrous/dev").await;
    let second = next_event(&mut reload).await.unwrap();
    assert_eq!(second.event, "version");
    assert_ne!(second.data, first.data, "a new version");
    let mut socket = echo(&addr).await;
    echoes(&mut socket).await;
    let mut clock = events(&addr, "/api/clock").await;
    assert_eq!(
        next_event(&mut clock).await.unwrap().data,
        "tick 1",
        "the new app's stream"
    );
    assert_eq!(get(&addr, "/api/version").await.text().await.unwrap(), "v2");

    // A broken edit: rustc's error is shown, and the old app keeps serving its clients.
    std::fs::write(&version, version_route("\"v3\" +")).unwrap();
    dev.line("nitrous dev: the build failed", REBUILD).await;
    let printed = dev.printed();
    assert!(
        printed.contains("error: expected expression") && printed.contains("version.get.rs"),
        "rustc's error, with the file:\n{printed}"
    );
    assert_eq!(get(&addr, "/api/version").await.text().await.unwrap(), "v2");
    echoes(&mut socket).await;
    assert!(
        next_event(&mut clock)
            .await
            .unwrap()
            .data
            .starts_with("tick ")
    );

    // Fixed: served again.
    let v3_written = Instant::now();
    std::fs::write(&version, version_route("\"v3\"")).unwrap();
    dev.line("nitrous dev: serving the new build", REBUILD)
        .await;
    let v3_alone = Instant::now();
    assert_eq!(get(&addr, "/api/version").await.text().await.unwrap(), "v3");

    // A build that starts and exits at once (a panic in `main`) is reported; the running one
    // keeps serving, and the next good build is swapped in.
    let main_rs = app.join("src/main.rs");
    let main_text = std::fs::read_to_string(&main_rs).unwrap();
    let opening = "async fn main() -> std::io::Result<()> {";
    assert!(main_text.contains(opening), "{main_text}");
    std::fs::write(
        &main_rs,
        main_text.replace(
            opening,
            &format!("{opening}\n    panic!(\"broken at start\");"),
        ),
    )
    .unwrap();
    dev.line("nitrous dev: the new build exited", REBUILD).await;
    assert!(
        dev.printed().contains("broken at start"),
        "the app's own panic is shown"
    );
    assert_eq!(get(&addr, "/api/version").await.text().await.unwrap(), "v3");
    std::fs::write(&main_rs, &main_text).unwrap();
    dev.line("nitrous dev: serving the new build", REBUILD)
        .await;
    assert_eq!(get(&addr, "/api/version").await.text().await.unwrap(), "v3");

    // A new middleware file is picked up as a new route file is: the next build runs it.
    let before = get(&addr, "/api/version").await;
    assert!(before.headers().get("x-tagged").is_none());
    std::fs::write(app.join("src/server/middleware/02.tag.rs"), TAG).unwrap();
    dev.line("nitrous dev: serving the new build", REBUILD)
        .await;
    let tagged = get(&addr, "/api/version").await;
    assert_eq!(tagged.headers()["x-tagged"], "yes");
    assert!(
        tagged.headers().contains_key("server-timing"),
        "the first one runs too"
    );
    assert_eq!(tagged.text().await.unwrap(), "v3");

    stop.send_replace(true);
    let seen = poller.await.unwrap();
    let failed: Vec<&String> = seen.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "failed requests during the swaps: {failed:?}"
    );
    // Both builds answer while they overlap; once the dev loop says the new one serves alone,
    // only it answers, until the next one is built.
    for (sent, answer) in &seen {
        let answer = answer.as_deref().unwrap();
        if *sent >= v3_alone {
            assert_eq!(answer, "v3");
        } else if *sent >= v3_written {
            assert!(answer == "v2" || answer == "v3", "{answer}");
        } else if *sent >= v2_alone {
            assert_eq!(answer, "v2", "the broken build changed nothing");
        }
    }
    for build in ["v1", "v2", "v3"] {
        assert!(
            seen.iter().any(|(_, a)| a.as_deref() == Ok(build)),
            "{build} answered the poller"
        );
    }
    eprintln!("{} requests, none failed", seen.len());

    // SIGTERM stops the dev loop and the app.
    dev.process.signal(Signal::Terminate).unwrap();
    dev.line("nitrous dev: stopping the app", WAIT).await;
    let status = tokio::task::block_in_place(|| dev.exit_within(2 * WAIT));
    assert!(status.success(), "{status}\n{}", dev.printed());
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "nothing listens after the dev loop stopped"
    );
    let _ = std::fs::remove_dir_all(&parent);
}
