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
    let sections: Vec<&str> = printed.split("\n\n").collect();
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
    ];
    let sections: Vec<(&str, &str)> = sections
        .iter()
        .map(|section| section.split_once('\n').expect("a heading line"))
        .collect();
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
    assert_eq!(sections.len(), 5, "{printed}");
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
