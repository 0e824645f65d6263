//! The README, as a new user follows it: every Rust block in it is a file whose path is its first
//! line (`// src/main.rs`, `// todos/src/server/routes/todos.rs`). Files under `src/` and
//! `build.rs` make one app, files under `NAME/` the app `NAME`; each is built against this
//! checkout with the dependencies the README's `Cargo.toml` names, and run, and its routes answer
//! as the README says.
//!
//! The apps build into `target/new-app-test`, beside the ones `tests/new.rs` and `tests/dev.rs`
//! build, so the dependencies compile once; the workspace's lock file pins them (no network).

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use nitrous_support::Process;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

/// The app the files under `src/` (and `build.rs`) make.
const MAIN_APP: &str = "readme-app";

/// A fenced block of the README: where it starts, its info string and its text (unindented).
struct Block {
    line: usize,
    info: String,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut text = String::new();
        for (_, line) in lines.by_ref() {
            if line.trim_start() == "```" {
                break;
            }
            text.push_str(line.get(indent..).unwrap_or(line.trim_start()));
            text.push('\n');
        }
        blocks.push(Block {
            line: number + 1,
            info: info.trim().to_owned(),
            text,
        });
    }
    blocks
}

/// The README's apps: name -> (path in the app -> text).
fn apps(readme: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut apps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for block in blocks(readme)
        .into_iter()
        .filter(|b| b.info.starts_with("rust"))
    {
        let first = block.text.lines().next().unwrap_or_default();
        let path = first
            .strip_prefix("// ")
            .and_then(|rest| rest.split_whitespace().next())
            .filter(|path| path.ends_with(".rs"))
            .unwrap_or_else(|| {
                panic!(
                    "README.md:{}: every Rust block is a file of an app, with its path as the first line (`// src/main.rs`); this one starts with {first:?}",
                    block.line
                )
            });
        let (app, inside) = match path.split_once('/') {
            _ if path == "build.rs" => (MAIN_APP, path),
            Some(("src", _)) => (MAIN_APP, path),
            Some((app, inside)) => (app, inside),
            None => panic!("README.md:{}: `{path}` is in no app", block.line),
        };
        let (app, inside, path) = (app.to_owned(), inside.to_owned(), path.to_owned());
        let files = apps.entry(app).or_default();
        let old = files.insert(inside, block.text);
        assert!(
            old.is_none(),
            "README.md:{}: `{path}` is written twice",
            block.line
        );
    }
    apps
}

/// The first `count` events of `/api/news` as (id, data), sent `Last-Event-ID: last` if given.
async fn headlines(app: &Running, last: Option<&str>, count: usize) -> Vec<(String, String)> {
    let mut request = reqwest::Client::new().get(app.url("/api/news"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.expect("the news stream");
    let events = response.bytes_stream().eventsource().take(count);
    let events: Vec<_> = tokio::time::timeout(WAIT, events.collect())
        .await
        .expect("the headlines within 10 s");
    events
        .into_iter()
        .map(|event| {
            let event = event.expect("a well-formed event");
            (event.id, event.data)
        })
        .collect()
}

/// Writes and builds `app`; returns its binary.
fn build(parent: &Path, name: &str, files: &BTreeMap<String, String>, build_rs: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(dir.join("src/server/routes")).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    if !files.contains_key("build.rs") {
        // The README says every app needs it.
        std::fs::write(dir.join("build.rs"), build_rs).unwrap();
    }
    let redis = files.values().any(|text| text.contains("broker::redis"));
    let features = if redis {
        ", features = [\"redis\"]"
    } else {
        ""
    };
    let runtime = support::workspace().join("runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nnitrous = {{ path = {:?}{features} }}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"net\"] }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    support::pin_versions(&dir);
    let target = support::apps_target();
    let built = Command::new(env!("CARGO"))
        .args(["build", "--offline"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        built.status.success(),
        "{name} from the README does not build:\n{stderr}"
    );
    assert!(
        !stderr.contains("warning"),
        "{name} from the README builds with warnings:\n{stderr}"
    );
    target.join("debug").join(name)
}

/// An app running on a socket this test bound (handed over as `nitrous::listen` takes it), so
/// requests wait in the kernel until it accepts: no port clash, no wait on time.
struct Running {
    _process: Process,
    addr: String,
}

impl Running {
    fn start(binary: &Path) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut command = Command::new(binary);
        command
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID")
            .stdout(Stdio::null())
            .fd_mappings(vec![FdMapping {
                parent_fd: listener.into(),
                child_fd: 3,
            }])
            .unwrap();
        Running {
            _process: Process::spawn(&mut command).expect("start the app"),
            addr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn request(method: reqwest::Method, url: &str) -> (u16, String) {
    let response = tokio::time::timeout(WAIT, reqwest::Client::new().request(method, url).send())
        .await
        .expect("an answer within 10 s")
        .expect("the request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("the body"))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(
    app: &Running,
    path: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(format!("ws://{}{path}", app.addr)),
    )
    .await
    .expect("a handshake within 10 s")
    .map(|(socket, _)| socket)
}

async fn text(socket: &mut Socket) -> String {
    let message = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("a message within 10 s")
        .expect("the socket goes on")
        .expect("a well-formed frame");
    message.into_text().expect("a text frame").to_string()
}

/// The status of a refused upgrade.
async fn refused(app: &Running, path: &str) -> u16 {
    match socket(app, path).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("{path}: accepted"),
        Err(other) => panic!("{path}: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_files_build_into_apps_that_answer_as_documented() {
    let readme = std::fs::read_to_string(support::workspace().join("README.md")).unwrap();
    // The Cargo.toml it shows names every dependency its files use.
    let toml = blocks(&readme)
        .into_iter()
        .find(|b| b.info == "toml" && b.text.starts_with("# Cargo.toml"))
        .expect("the README's Cargo.toml");
    for dependency in ["nitrous", "tokio", "serde", "serde_json"] {
        assert!(
            toml.text
                .lines()
                .any(|l| l.starts_with(&format!("{dependency} ="))),
            "the README's Cargo.toml lacks {dependency}:\n{}",
            toml.text
        );
    }
    let apps = apps(&readme);
    let build_rs = apps[MAIN_APP]
        .get("build.rs")
        .expect("the README's build.rs")
        .clone();
    assert_eq!(
        apps.keys().collect::<Vec<_>>(),
        ["guarded", "news", MAIN_APP, "scaled", "todos"],
        "the README's apps"
    );

    let parent = std::env::temp_dir().join(format!("cargo-nitrous-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    let binaries: BTreeMap<&str, PathBuf> = apps
        .iter()
        .map(|(name, files)| (name.as_str(), build(&parent, name, files, &build_rs)))
        .collect();

    // The first app: users/[id].rs, the seed's chat and clock.
    let app = Running::start(&binaries[MAIN_APP]);
    assert_eq!(
        request(reqwest::Method::GET, &app.url("/api/users/7")).await,
        (200, "user 7".to_owned())
    );
    assert_eq!(
        request(reqwest::Method::DELETE, &app.url("/api/users/7")).await,
        (200, "deleted 7".to_owned())
    );
    let mut chat = socket(&app, "/ws/chat").await.expect("the chat");
    let welcome: serde_json::Value = serde_json::from_str(&text(&mut chat).await).unwrap();
    assert_eq!(welcome["user"], "server");
    assert!(
        welcome["message"].as_str().unwrap().starts_with("Welcome "),
        "{welcome}"
    );
    chat.send(Message::text("ping")).await.unwrap();
    let pong: serde_json::Value = serde_json::from_str(&text(&mut chat).await).unwrap();
    assert_eq!(
        pong,
        serde_json::json!({ "user": "server", "message": "pong" })
    );
    let response = reqwest::get(app.url("/api/sse")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut clock = response.bytes_stream().eventsource();
    let tick = tokio::time::timeout(WAIT, clock.next())
        .await
        .expect("a tick within 10 s")
        .expect("the stream goes on")
        .expect("a well-formed event");
    let time = tick
        .data
        .strip_prefix("Message @ ")
        .expect("the clock's text");
    assert!(
        time.len() == 8 && time.chars().filter(|c| *c == ':').count() == 2,
        "{}",
        tick.data
    );
    drop(app);

    // The todo app: state, JSON bodies, and an upgrade that reads the query and refuses.
    let app = Running::start(&binaries["todos"]);
    let client = reqwest::Client::new();
    let added = client
        .post(app.url("/api/todos"))
        .json(&"milk")
        .send()
        .await
        .unwrap();
    assert_eq!(added.text().await.unwrap(), "1");
    assert_eq!(
        request(reqwest::Method::GET, &app.url("/api/todos")).await,
        (200, "[\"milk\"]".to_owned())
    );
    let mut list = socket(&app, "/ws/groceries?token=user-ada")
        .await
        .expect("the list");
    assert_eq!(text(&mut list).await, "ada joined groceries");
    assert_eq!(refused(&app, "/ws/groceries").await, 400, "no token");
    assert_eq!(refused(&app, "/ws/groceries?token=bad").await, 401);
    drop(app);

    // The middleware: auth refuses without a known token and hands the user to the route, and
    // the second file's header is on what the route answers.
    let app = Running::start(&binaries["guarded"]);
    assert_eq!(
        request(reqwest::Method::GET, &app.url("/api/me")).await,
        (401, "who are you?".to_owned())
    );
    let me = tokio::time::timeout(
        WAIT,
        reqwest::Client::new()
            .get(app.url("/api/me"))
            .header("authorization", "Bearer secret-ada")
            .send(),
    )
    .await
    .expect("an answer within 10 s")
    .expect("the request");
    assert_eq!(me.status(), 200);
    assert!(
        me.headers()["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("app;dur="),
        "{:?}",
        me.headers()
    );
    assert_eq!(me.text().await.unwrap(), "hello ada");
    drop(app);

    // The resumable topic, retained on the hub the router has: a client that reconnects with the
    // last id it saw gets what came after it, then the live headlines, each once.
    let app = Running::start(&binaries["news"]);
    let seen = headlines(&app, None, 3).await;
    // Live from whenever it connected: three headlines in a row.
    let numbers: Vec<u64> = seen
        .iter()
        .map(|(_, data)| {
            let n = data.strip_prefix("headline ").expect("a headline");
            n.parse().expect("a number")
        })
        .collect();
    assert_eq!(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2]);
    let resumed = headlines(&app, Some(&seen[1].0), 2).await;
    assert_eq!(
        resumed[0], seen[2],
        "resumed after the second headline it saw"
    );
    assert_eq!(resumed[1].1, format!("headline {}", numbers[0] + 3));
    drop(app);

    // The Redis app builds (it runs without Redis too, serving locally).
    let app = Running::start(&binaries["scaled"]);
    assert_eq!(request(reqwest::Method::GET, &app.url("/")).await.0, 404);
    drop(app);
    let _ = std::fs::remove_dir_all(&parent);
}
