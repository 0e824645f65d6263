//! Rebuild tracking, end to end: a small app in a temporary folder is built with plain
//! `cargo build`, route and middleware files are added, renamed and removed between builds, and
//! each new build serves the new route table and chain. No `touch`, no `cargo clean`.
//!
//! The first build compiles the app's dependencies into `target/rebuild-test` (kept between runs);
//! later builds only recompile the app.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use nitrous_support::Process;

const MAIN: &str = r#"nitrous::routes!();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    nitrous::serve(listener, router()).await
}
"#;

/// Watches the folder that holds both `routes/` and `middleware/`, as the README's build.rs does.
const BUILD_RS: &str = "fn main() {\n    println!(\"cargo::rerun-if-changed=src/server\");\n}\n";

/// A middleware that refuses every request.
const DENY: &str = "use nitrous::axum::extract::Request;\nuse nitrous::axum::http::StatusCode;\nuse nitrous::axum::middleware::Next;\n\n#[nitrous::middleware]\npub async fn deny(request: Request, next: Next) -> StatusCode {\n    let _ = (request, next);\n    StatusCode::FORBIDDEN\n}\n";

fn route(text: &str) -> String {
    format!("#[nitrous::get]\npub async fn get() -> &'static str {{\n    \"{text}\"\n}}\n")
}

struct App {
    dir: PathBuf,
    target: PathBuf,
}

impl App {
    fn new() -> App {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf();
        let dir = std::env::temp_dir().join(format!("nitrous-rebuild-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/server/routes")).unwrap();
        let manifest = format!(
            "[package]\nname = \"rebuild-app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\nnitrous = {{ path = {:?} }}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"net\"] }}\n\n[workspace]\n",
            workspace.join("runtime")
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        // The workspace's lock file pins the same versions, so the build needs no network.
        std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        std::fs::write(dir.join("build.rs"), BUILD_RS).unwrap();
        std::fs::write(dir.join("src/main.rs"), MAIN).unwrap();
        App {
            dir,
            target: workspace.join("target/rebuild-test"),
        }
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.dir.join(rel), text).unwrap();
    }

    /// Plain `cargo build`; returns its stderr (warnings included, also those cargo replays for an
    /// app it finds fresh).
    fn build(&self) -> String {
        let output = Command::new(env!("CARGO"))
            .args(["build", "--offline"])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .output()
            .expect("run cargo");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "cargo build failed:\n{stderr}");
        stderr
    }

    /// Starts the built app, waits for the address it prints, and returns the status line of each
    /// `GET` of `paths`.
    fn statuses(&self, paths: &[&str]) -> Vec<u16> {
        let app = Command::new(self.target.join("debug/rebuild-app"));
        let (_app, addr) =
            Process::start(app, |line| Some(line.trim().to_owned())).expect("the app");
        paths.iter().map(|path| status(&addr, path)).collect()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn status(addr: &str, path: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect to the app");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

#[test]
fn added_renamed_and_removed_route_and_middleware_files_reach_the_next_plain_build() {
    let app = App::new();
    app.write("src/server/routes/hello.rs", &route("hello"));
    let warnings = app.build();
    assert!(
        !warnings.contains("nitrous:"),
        "no advice with a build.rs:\n{warnings}"
    );
    assert_eq!(app.statuses(&["/api/hello", "/api/added"]), [200, 404]);

    app.write("src/server/routes/added.rs", &route("added"));
    app.build();
    assert_eq!(
        app.statuses(&["/api/hello", "/api/added"]),
        [200, 200],
        "an added file is served"
    );

    std::fs::create_dir_all(app.dir.join("src/server/routes/nested")).unwrap();
    std::fs::rename(
        app.dir.join("src/server/routes/added.rs"),
        app.dir.join("src/server/routes/nested/renamed.rs"),
    )
    .unwrap();
    app.build();
    assert_eq!(
        app.statuses(&["/api/added", "/api/nested/renamed"]),
        [404, 200],
        "a renamed file moves"
    );

    std::fs::remove_file(app.dir.join("src/server/routes/hello.rs")).unwrap();
    app.build();
    assert_eq!(
        app.statuses(&["/api/hello", "/api/nested/renamed"]),
        [404, 200],
        "a removed file is gone"
    );

    // A new middleware folder and file: the next build runs every route through it.
    std::fs::create_dir_all(app.dir.join("src/server/middleware")).unwrap();
    app.write("src/server/middleware/01.deny.rs", DENY);
    app.build();
    assert_eq!(
        app.statuses(&["/api/nested/renamed"]),
        [403],
        "an added middleware runs"
    );
    std::fs::remove_dir_all(app.dir.join("src/server/middleware")).unwrap();
    app.build();
    assert_eq!(
        app.statuses(&["/api/nested/renamed"]),
        [200],
        "a removed middleware is gone"
    );

    // Without the build.rs line, the macro says what to add.
    std::fs::remove_file(app.dir.join("build.rs")).unwrap();
    let warnings = app.build();
    assert!(
        warnings.contains("this crate has no build.rs")
            && warnings.contains(r#"println!("cargo::rerun-if-changed=src/server/routes");"#),
        "{warnings}"
    );
}
