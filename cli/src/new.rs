//! `cargo nitrous new NAME`: a working app, with an HTTP, a WebSocket and an SSE route, and a
//! middleware.

use std::path::{Path, PathBuf};

use crate::Failure;

const MAIN: &str = include_str!("template/main.rs");
const HELLO: &str = include_str!("template/hello.get.rs");
const ECHO: &str = include_str!("template/echo.rs");
const CLOCK: &str = include_str!("template/clock.rs");
const TIMING: &str = include_str!("template/timing.rs");
const BUILD: &str = "//! Tells cargo to rebuild when a route or middleware file is added, removed or renamed:\n//! `nitrous::routes!` scans `src/server/routes` and `src/server/middleware` at compile time.\n\nfn main() {\n    println!(\"cargo::rerun-if-changed=src/server\");\n}\n";

/// `cargo nitrous new NAME [--nitrous PATH]`: creates `./NAME`.
pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut name: Option<&str> = None;
    let mut nitrous: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--nitrous" => {
                let path = args
                    .next()
                    .ok_or_else(|| Failure::Usage("--nitrous needs a path".to_owned()))?;
                nitrous = Some(PathBuf::from(path));
            }
            flag if flag.starts_with('-') => {
                return Err(Failure::Usage(format!("unknown flag `{flag}`")));
            }
            value if name.is_none() => name = Some(value),
            extra => return Err(Failure::Usage(format!("unexpected argument `{extra}`"))),
        }
    }
    let name = name.ok_or_else(|| Failure::Usage("`new` needs the app's name".to_owned()))?;
    check_name(name)?;
    let dir = PathBuf::from(name);
    if dir.exists() {
        return Err(Failure::Failed(format!(
            "error: `{name}` already exists; pick another name or remove it"
        )));
    }
    let dependency = dependency(nitrous.or_else(checkout))?;
    write_app(&dir, name, &dependency)?;
    println!("created the nitrous app `{name}`:\n  cd {name} && cargo run");
    Ok(())
}

/// A package name cargo accepts: ASCII letters, digits, `-` and `_`, not starting with a digit.
fn check_name(name: &str) -> Result<(), Failure> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "error: `{name}` is not a package name: use ASCII letters, digits, `-` and `_`, starting with a letter"
        )))
    }
}

/// The nitrous checkout this CLI was built from, while nitrous is not published.
fn checkout() -> Option<PathBuf> {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .join("runtime");
    runtime.join("Cargo.toml").is_file().then_some(runtime)
}

/// The `nitrous = ...` dependency line.
fn dependency(runtime: Option<PathBuf>) -> Result<String, Failure> {
    let Some(runtime) = runtime else {
        return Ok(format!("nitrous = \"{}\"", env!("CARGO_PKG_VERSION")));
    };
    let runtime = runtime.canonicalize().map_err(|e| {
        Failure::Failed(format!(
            "error: the nitrous checkout {}: {e}",
            runtime.display()
        ))
    })?;
    let path = runtime
        .to_str()
        .ok_or_else(|| Failure::Failed(format!("error: {} is not UTF-8", runtime.display())))?;
    Ok(format!("nitrous = {{ path = {path:?} }}"))
}

fn write_app(dir: &Path, name: &str, dependency: &str) -> Result<(), Failure> {
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{dependency}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"net\", \"signal\", \"time\"] }}\n# JSON bodies and messages: #[derive(Deserialize)], json!\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n# Logs: RUST_LOG=debug (or warn, or nitrous=debug) picks what shows\ntracing-subscriber = {{ version = \"0.3\", features = [\"env-filter\"] }}\n"
    );
    let files: [(&str, &str); 8] = [
        ("Cargo.toml", &manifest),
        (".gitignore", "/target\n"),
        ("build.rs", BUILD),
        ("src/main.rs", MAIN),
        ("src/server/routes/hello.get.rs", HELLO),
        ("src/server/routes/ws/echo.rs", ECHO),
        ("src/server/routes/clock.rs", CLOCK),
        ("src/server/middleware/01.timing.rs", TIMING),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|e| Failure::Failed(format!("error: {}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_checkout_the_app_depends_on_the_registrys_nitrous_of_this_version() {
        let line = dependency(None).unwrap();
        assert_eq!(line, format!("nitrous = \"{}\"", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn a_checkout_is_depended_on_by_its_full_path() {
        let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
        let line = dependency(Some(runtime.clone())).unwrap();
        let full = runtime.canonicalize().unwrap();
        assert_eq!(
            line,
            format!("nitrous = {{ path = {:?} }}", full.to_str().unwrap())
        );
        assert!(dependency(Some(PathBuf::from("/no/such/checkout"))).is_err());
    }
}
