//! Tells cargo to rebuild when a route file is added, removed or renamed (nitrous::routes! scans
//! the folder at compile time).

fn main() {
    println!("cargo::rerun-if-changed=src/server/routes");
}
