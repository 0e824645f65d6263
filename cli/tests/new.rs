//! `cargo nitrous new x && cd x && cargo run`, as a user runs it: the generated app builds
//! against this checkout and serves its three routes to real clients, through its middleware.
//!
//! The first build compiles the app's dependencies into `target/new-app-test` (kept between
//! runs); the workspace's lock file pins the versions, so it needs no network.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use nitrous_support::Process;

const WAIT: Duration = Duration::from_secs(10);

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("a whole response");
    response
}

#[test]
fn a_new_app_builds_as_generated_and_serves_http_websocket_and_sse() {
    let parent = std::env::temp_dir().join(format!("cargo-nitrous-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let created = Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(["nitrous", "new", "demo-app"])
        .current_dir(&parent)
        .output()
        .expect("run cargo-nitrous");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let app = parent.join("demo-app");
    let again = Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(["nitrous", "new", "demo-app"])
        .current_dir(&parent)
        .output()
        .expect("run cargo-nitrous");
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing folder is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    support::pin_versions(&app);
    let target = support::apps_target();
    build_without_warnings(&app, &target, "as generated");

    let mut command = Command::new(target.join("debug/demo-app"));
    command
        .env("NITROUS_ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped());
    // The app prints its route table, then the address; read until the address (it is printed
    // once the socket is bound, so nothing here waits on time). Killed when the test ends.
    let mut printed = String::new();
    let (mut running, addr) = Process::start(command, |line| {
        let addr = line.strip_prefix("listening on http://").map(str::to_owned);
        if addr.is_none() {
            printed.push_str(line);
            printed.push('\n');
        }
        addr
    })
    .expect("the app prints its address");
    let mut logs = log_lines(running.child_mut().stderr.take().unwrap());

    let listed = Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(["nitrous", "routes"])
        .current_dir(&app)
        .output()
        .expect("run cargo-nitrous");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        printed,
        "routes = ROUTES"
    );
    for (method, path, kind) in [
        ("GET", "/api/clock", "sse"),
        ("GET", "/api/hello", "http"),
        ("GET", "/ws/echo", "ws"),
    ] {
        assert!(
            printed
                .lines()
                .any(|l| l.split_whitespace().take(3).eq([method, path, kind])),
            "{method} {path} {kind} in\n{printed}"
        );
    }

    assert!(
        printed.lines().any(|l| l
            .split_whitespace()
            .eq(["timing", "src/server/middleware/01.timing.rs"])),
        "the middleware in\n{printed}"
    );

    let hello = get(&addr, "/api/hello");
    assert!(hello.starts_with("HTTP/1.1 200"), "{hello}");
    assert!(hello.ends_with("\r\n\r\nHello from nitrous!"), "{hello}");
    assert!(
        hello.contains("\r\nserver-timing: app;dur="),
        "the timing middleware ran: {hello}"
    );

    let stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/ws/echo"), stream)
        .expect("the WebSocket handshake");
    let text = |m: tungstenite::Message| m.into_text().expect("a text frame").to_string();
    assert_eq!(text(ws.read().unwrap()), "welcome");
    ws.send(tungstenite::Message::text("ping")).unwrap();
    assert_eq!(text(ws.read().unwrap()), "ping");
    ws.send(tungstenite::Message::binary(vec![1u8, 2, 3]))
        .unwrap();
    assert_eq!(
        ws.read().unwrap(),
        tungstenite::Message::binary(vec![1u8, 2, 3])
    );
    ws.close(None).unwrap();

    // The app shows nitrous's logs from the first run: a refused page is one line on stderr.
    let stream = TcpStream::connect(&addr).unwrap();
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(format!("ws://{addr}/ws/echo"))
            .unwrap();
    request.headers_mut().insert(
        "origin",
        tungstenite::http::HeaderValue::from_static("http://elsewhere.test"),
    );
    match tungstenite::client(request, stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a cross-origin page is refused: {other:?}"),
    }
    let refusal = logs
        .find(|line| line.contains("refused a cross-origin WebSocket upgrade"))
        .expect("the refusal is logged");
    assert!(refusal.contains("WARN"), "{refusal}");
    assert!(
        refusal.contains("Origin http://elsewhere.test"),
        "{refusal}"
    );

    let mut sse = TcpStream::connect(&addr).unwrap();
    sse.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        sse,
        "GET /api/clock HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(sse);
    let mut head = String::new();
    let mut data = Vec::new();
    while data.len() < 2 {
        let mut line = String::new();
        let read = reader
            .read_line(&mut line)
            .expect("the stream goes on within 10 s");
        assert!(read > 0, "the stream ended early: {head}");
        if let Some(value) = line.strip_prefix("data: ") {
            data.push(value.trim_end().to_owned());
        } else if data.is_empty() {
            head.push_str(&line);
        }
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    assert_eq!(data, ["tick 1", "tick 2"]);

    // A JSON body route, as a user adds one first, builds without editing Cargo.toml.
    std::fs::write(
        app.join("src/server/routes/todos.post.rs"),
        "use nitrous::axum::Json;\n\n#[derive(serde::Deserialize)]\npub struct Todo {\n    title: String,\n}\n\n#[nitrous::post]\npub async fn create(Json(todo): Json<Todo>) -> Json<serde_json::Value> {\n    Json(serde_json::json!({ \"title\": todo.title }))\n}\n",
    )
    .unwrap();
    build_without_warnings(&app, &target, "with a JSON route");

    let _ = std::fs::remove_dir_all(&parent);
}

/// The app's stderr, line by line as it writes them; the iterator waits at most `WAIT` for each.
fn log_lines(stderr: std::process::ChildStderr) -> impl Iterator<Item = String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::iter::from_fn(move || rx.recv_timeout(WAIT).ok())
}

/// Builds the app offline into the shared target; it must build, without warnings.
fn build_without_warnings(app: &std::path::Path, target: &std::path::Path, what: &str) {
    let built = Command::new(env!("CARGO"))
        .args(["build", "--offline"])
        .current_dir(app)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        built.status.success(),
        "cargo build failed ({what}):\n{stderr}"
    );
    assert!(
        !stderr.contains("warning"),
        "the app builds without warnings ({what}):\n{stderr}"
    );
}
