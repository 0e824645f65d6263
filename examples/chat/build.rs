//! Tells cargo to rebuild when a route file is added, removed or renamed (nitrous::routes! scans
//! the folder at compile time), and embeds the browser client (`client/dist`, committed) that the
//! page loads from `/nitrous-client/`.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=src/server/routes");
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../client/dist");
    println!("cargo::rerun-if-changed={}", dist.display());
    let mut files: Vec<_> = std::fs::read_dir(&dist)
        .unwrap_or_else(|e| panic!("{}: {e} (the client's build is committed)", dist.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    let mut code = String::from(
        "/// The browser client's modules: file name, text.\npub const CLIENT: &[(&str, &str)] = &[\n",
    );
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("client.rs");
    std::fs::write(out, code).expect("write the client's table");
}
