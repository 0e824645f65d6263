//! Tells cargo to rebuild the fixtures when a route or middleware file is added, removed or
//! renamed.

fn main() {
    println!("cargo::rerun-if-changed=src/server/routes");
    println!("cargo::rerun-if-changed=src/api_layout");
    println!("cargo::rerun-if-changed=tests/hygiene");
    println!("cargo::rerun-if-changed=src/bench_routes");
    println!("cargo::rerun-if-changed=src/guarded");
}
