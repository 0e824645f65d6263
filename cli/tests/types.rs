//! `cargo nitrous types` on the fixture app (`tests/`), whose `ws/typed/[room].rs` is a channel
//! with requests and `ws/typed_plain.rs` one without: the file it writes, and `--check` on a fresh
//! and a stale copy.

mod support;

use std::process::Command;

fn types(args: &[&str]) -> std::process::Output {
    let manifest = support::workspace().join("tests/Cargo.toml");
    Command::new(env!("CARGO_BIN_EXE_cargo-nitrous"))
        .args(["nitrous", "types", "--manifest-path"])
        .arg(manifest)
        .args(args)
        .output()
        .expect("run cargo-nitrous")
}

#[test]
fn the_channel_routes_types_are_written_and_checked() {
    let dir = std::env::temp_dir().join(format!("cargo-nitrous-types-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("routes.ts");
    let out_arg = out.to_str().unwrap();

    let wrote = types(&["--out", out_arg]);
    assert!(
        wrote.status.success(),
        "{}",
        String::from_utf8_lossy(&wrote.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    for line in [
        "import { channelRoute, eventRoute } from \"nitrous-client\";",
        "export type Say = { text: string, };",
        "export type Said = { from: string, text: string, };",
        "export type Ask = { \"kind\": \"echo\", text: string, } | { \"kind\": \"refuse\", reason: string, };",
        "export type Refused = { reason: string, };",
        "export const typedRoom = channelRoute<{ room: string }, Say, Said, Ask, string, Refused>(\"/ws/typed/{room}\");",
        "export const typedPlain = channelRoute<Record<string, never>, string, string>(\"/ws/typed_plain\");",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\nin:\n{text}");
    }

    let fresh = types(&["--out", out_arg, "--check"]);
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert!(String::from_utf8_lossy(&fresh.stderr).contains("is up to date"));

    std::fs::write(&out, text.replace("reason: string", "why: string")).unwrap();
    let stale = types(&["--out", out_arg, "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("is stale"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
