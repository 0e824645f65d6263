//! Asking for help is not a mistake: `--help`, `-h` and `help [COMMAND]`, alone or after a
//! command, print the usage and succeed; a wrong command still fails with the usage.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(args)
        .output()
        .expect("cargo-nitrous runs")
}

#[test]
fn every_way_of_asking_for_help_prints_the_usage_and_succeeds() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["help", "dev"],
        &["nitrous", "--help"], // as cargo runs it
        &["dev", "--help"],
        &["new", "-h"],
        &["routes", "--help"],
    ] {
        let output = run(args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{args:?}: {}", output.status);
        assert!(
            stdout.contains("cargo nitrous dev") && stdout.contains("cargo nitrous routes"),
            "{args:?}: {stdout}"
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn an_unknown_command_fails_with_the_usage() {
    let output = run(&["deploy"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown command `deploy`"), "{stderr}");
    assert!(stderr.contains("usage:"), "{stderr}");
}
