//! `cargo nitrous routes`, run as a user runs it, against the fixture app and broken apps.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cargo-nitrous nitrous ARGS` in `dir`, as cargo runs a subcommand.
fn cargo_nitrous(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .arg("nitrous")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run cargo-nitrous")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An app folder with `src/main.rs` and the given files, in a fresh temporary folder.
fn app(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cargo-nitrous-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\n",
    )
    .unwrap();
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn prints_the_fixture_apps_tables_as_their_routes_display_them() {
    let manifest = support::workspace().join("tests/Cargo.toml");
    let out = cargo_nitrous(
        &support::workspace(),
        &["routes", "--manifest-path", manifest.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    // A section is a heading line (`FILE: routes!(ARGS)`) and the table below it, which may hold
    // a blank line of its own (before the middleware chain).
    let mut sections: Vec<(&str, String)> = Vec::new();
    for line in printed.lines() {
        if line.starts_with("src/") && line.contains(": routes!(") {
            sections.push((line, String::new()));
        } else {
            let (_, table) = sections.last_mut().expect("a heading line first");
            table.push_str(line);
            table.push('\n');
        }
    }
    let expected = [
        (
            "src/lib.rs: routes!(state = AppState)",
            nitrous_tests::ROUTES.to_string(),
        ),
        (
            "src/lib.rs: routes!(dir = \"src/api_layout\")",
            nitrous_tests::api_layout::ROUTES.to_string(),
        ),
        (
            "src/lib.rs: routes!(dir = \"src/server/routes\" , prefix = \"\" , state = crate :: AppState)",
            nitrous_tests::unprefixed::ROUTES.to_string(),
        ),
        (
            "src/lib.rs: routes!(dir = \"src/api_layout\" , prefix = \"/v2\")",
            nitrous_tests::custom_prefix::ROUTES.to_string(),
        ),
        (
            "src/guarded.rs: routes!(dir = \"src/guarded/routes\" , state = GuardedState)",
            nitrous_tests::guarded::ROUTES.to_string(),
        ),
    ];
    assert!(
        !nitrous_tests::guarded::ROUTES.middleware().is_empty(),
        "one of them lists a middleware chain"
    );
    for (heading, table) in expected {
        let found = sections
            .iter()
            .find(|(first, _)| *first == heading)
            .unwrap_or_else(|| panic!("no section {heading} in\n{printed}"));
        assert_eq!(found.1.trim_end(), table.trim_end(), "{heading}");
    }
    // The bench server's call names its folder relative to its own file (`./`-style).
    let bench = sections
        .iter()
        .find(|(first, _)| first.starts_with("src/bin/bench-nitrous.rs: "))
        .unwrap_or_else(|| panic!("no bench-nitrous section in\n{printed}"));
    assert!(
        bench.1.contains("../bench_routes/ws/echo.rs"),
        "{}",
        bench.1
    );
    assert_eq!(sections.len(), 6, "{printed}");
}

#[test]
fn one_call_prints_the_bare_table_found_from_the_current_folder() {
    let dir = app(
        "one",
        &[
            ("src/main.rs", "nitrous::routes!();\nfn main() {}\n"),
            (
                "src/server/routes/hello.get.rs",
                "#[nitrous::get]\npub async fn get() -> &'static str { \"hi\" }\n",
            ),
        ],
    );
    let out = cargo_nitrous(&dir.join("src"), &["routes"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "METHOD  PATH        KIND  FILE\nGET     /api/hello  http  src/server/routes/hello.get.rs\n"
    );
}

/// A middleware file that adds nothing but a name to the chain.
fn middleware(name: &str) -> String {
    format!(
        "use nitrous::axum::{{extract::Request, middleware::Next, response::Response}};\n\n#[nitrous::middleware]\npub async fn {name}(request: Request, next: Next) -> Response {{\n    next.run(request).await\n}}\n"
    )
}

#[test]
fn a_middleware_folder_is_listed_after_the_routes_in_the_order_it_runs() {
    let (auth, log, timing) = (middleware("auth"), middleware("log"), middleware("timing"));
    let dir = app(
        "chain",
        &[
            ("src/main.rs", "nitrous::routes!();\nfn main() {}\n"),
            (
                "src/server/routes/hello.get.rs",
                "#[nitrous::get]\npub async fn get() -> &'static str { \"hi\" }\n",
            ),
            ("src/server/middleware/10.timing.rs", &timing),
            ("src/server/middleware/2.log.rs", &log),
            ("src/server/middleware/1.auth.rs", &auth),
        ],
    );
    let out = cargo_nitrous(&dir, &["routes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "METHOD  PATH        KIND  FILE\n\
         GET     /api/hello  http  src/server/routes/hello.get.rs\n\
         \n\
         MIDDLEWARE  FILE\n\
         auth        src/server/middleware/1.auth.rs\n\
         log         src/server/middleware/2.log.rs\n\
         timing      src/server/middleware/10.timing.rs\n"
    );

    // One order key twice fails the command with the macro's error.
    std::fs::write(
        dir.join("src/server/middleware/01.twice.rs"),
        middleware("twice"),
    )
    .unwrap();
    let out = cargo_nitrous(&dir, &["routes"]);
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("src/server/middleware/01.twice.rs and src/server/middleware/1.auth.rs have the same order key, 1"),
        "{stderr}"
    );
}

#[test]
fn a_broken_folder_fails_with_the_macros_errors() {
    let dir = app(
        "broken",
        &[
            ("src/main.rs", "nitrous::routes!();\nfn main() {}\n"),
            (
                "src/server/routes/hello.fetch.rs",
                "#[nitrous::get]\npub async fn get() {}\n",
            ),
            ("src/server/routes/empty.rs", "// nothing here\n"),
        ],
    );
    let out = cargo_nitrous(&dir, &["routes"]);
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.starts_with("src/main.rs: routes!()\n"), "{stderr}");
    assert!(stderr.contains("hello.fetch.rs"), "{stderr}");
    assert!(stderr.contains("empty.rs"), "{stderr}");
    assert!(
        stderr.lines().skip(1).all(|l| l.starts_with("error: ")),
        "{stderr}"
    );
}

#[test]
fn an_app_without_a_call_or_a_manifest_is_told_what_is_missing() {
    let dir = app("none", &[("src/main.rs", "fn main() {}\n")]);
    let out = cargo_nitrous(&dir, &["routes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no `nitrous::routes!` call"),
        "{}",
        text(&out.stderr)
    );
    let missing = dir.join("nope/Cargo.toml");
    let out = cargo_nitrous(
        &dir,
        &["routes", "--manifest-path", missing.to_str().unwrap()],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_wrong_command_line_prints_the_usage() {
    let out = cargo_nitrous(&support::workspace(), &["rutes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("usage:"),
        "{}",
        text(&out.stderr)
    );
}
