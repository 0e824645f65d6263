//! `cargo nitrous types [--manifest-path PATH] [--out FILE] [--check]`: the TypeScript of an app's
//! channel routes, for the browser client. It runs the test `routes!` emits beside the router,
//! which builds the file from the route files' Rust types (ts-rs) and writes it where it is told.

use std::path::{Path, PathBuf};
use std::process::Command;

use nitrous_routes::{listing, typescript};

use crate::{Failure, find_manifest};

/// Where the file goes unless `--out` says: beside the routes folder.
const DEFAULT_OUT: &str = "src/server/routes.ts";

struct Options {
    manifest: Option<PathBuf>,
    out: Option<PathBuf>,
    check: bool,
}

fn parse(args: &[String]) -> Result<Options, Failure> {
    let mut options = Options {
        manifest: None,
        out: None,
        check: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .map(PathBuf::from)
                .ok_or_else(|| Failure::Usage(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--manifest-path" => options.manifest = Some(value()?),
            "--out" => options.out = Some(value()?),
            "--check" => options.check = true,
            other => return Err(Failure::Usage(format!("unexpected argument `{other}`"))),
        }
    }
    Ok(options)
}

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let options = parse(args)?;
    let manifest = match options.manifest {
        Some(path) => path,
        None => find_manifest()?,
    };
    let crate_dir = manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let out = options.out.unwrap_or_else(|| crate_dir.join(DEFAULT_OUT));
    // The test runs in the package's folder: name the file from here.
    let out = std::path::absolute(&out)
        .map_err(|e| Failure::Failed(format!("error: {}: {e}", out.display())))?;
    let target = if options.check {
        std::env::temp_dir().join(format!("nitrous-types-{}.ts", std::process::id()))
    } else {
        out.clone()
    };
    generate(&manifest, &crate_dir, &target)?;
    if !options.check {
        eprintln!("cargo nitrous types: wrote {}", out.display());
        return Ok(());
    }
    let fresh = std::fs::read_to_string(&target);
    let _ = std::fs::remove_file(&target);
    let fresh = fresh.map_err(|e| Failure::Failed(format!("error: the new types: {e}")))?;
    match std::fs::read_to_string(&out) {
        Ok(old) if old == fresh => {
            eprintln!("cargo nitrous types: {} is up to date", out.display());
            Ok(())
        }
        Ok(_) => Err(Failure::Failed(format!(
            "error: {} is stale: the route files' types changed; run `cargo nitrous types`",
            out.display()
        ))),
        Err(e) => Err(Failure::Failed(format!(
            "error: {}: {e}; run `cargo nitrous types` to write it",
            out.display()
        ))),
    }
}

/// Runs the app's types test, which writes `out`.
fn generate(manifest: &Path, crate_dir: &Path, out: &Path) -> Result<(), Failure> {
    // The call at the top of `main.rs` or `lib.rs`: its test is `TEST` in that target.
    let calls = listing::find_calls(crate_dir);
    let mut roots: Vec<&Path> = calls
        .iter()
        .map(|call| call.file.as_path())
        .filter(|file| {
            *file == crate_dir.join("src/main.rs") || *file == crate_dir.join("src/lib.rs")
        })
        .collect();
    roots.dedup();
    let target = match roots.as_slice() {
        [file] if file.ends_with("lib.rs") => "--lib",
        [_] => "--bin",
        _ => {
            let found: Vec<String> = calls.iter().map(|c| c.file.display().to_string()).collect();
            return Err(Failure::Failed(format!(
                "error: `cargo nitrous types` reads the `nitrous::routes!` call in src/main.rs or src/lib.rs; found {}",
                if found.is_empty() {
                    "none".to_owned()
                } else {
                    found.join(", ")
                }
            )));
        }
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["test", "--quiet", "--manifest-path"])
        .arg(manifest)
        .args(target_args(target, manifest)?)
        .args(["--", "--exact", typescript::TEST])
        .env(typescript::OUT_ENV, out)
        .output()
        .map_err(|e| Failure::Failed(format!("error: cannot run cargo: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(Failure::Failed(format!(
            "error: the app's types test failed:\n{stderr}{stdout}"
        )));
    }
    if !stdout.contains("1 passed") || !out.is_file() {
        return Err(Failure::Failed(format!(
            "error: the app's `{}` test did not run; `cargo nitrous types` needs one `nitrous::routes!` call at the top of `main.rs` or `lib.rs`:\n{stdout}",
            typescript::TEST
        )));
    }
    Ok(())
}

/// `--lib`, or `--bin NAME` for the binary built from `src/main.rs` (its name from `cargo
/// metadata`: the package's, unless the manifest renames it).
fn target_args(target: &str, manifest: &Path) -> Result<Vec<String>, Failure> {
    if target == "--lib" {
        return Ok(vec!["--lib".to_owned()]);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|e| Failure::Failed(format!("error: cannot run cargo metadata: {e}")))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Failure::Failed(format!("error: cargo metadata's output: {e}")))?;
    let main = manifest.with_file_name("src/main.rs");
    let main = main.canonicalize().unwrap_or(main);
    let name = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .find(|t| t["src_path"].as_str().map(Path::new) == Some(main.as_path()))
        .and_then(|t| t["name"].as_str())
        .ok_or_else(|| {
            Failure::Failed(format!(
                "error: no binary of {} is built from {}",
                manifest.display(),
                main.display()
            ))
        })?;
    Ok(vec!["--bin".to_owned(), name.to_owned()])
}
