fn main() {
    println!("cargo::rerun-if-changed=src/server/routes");
}
