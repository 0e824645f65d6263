//! How `cargo nitrous types` asks an app for its TypeScript: it runs the test `routes!` emits,
//! named [`TEST`], with [`OUT_ENV`] naming the file to write.

/// The test `routes!` emits beside the router.
pub const TEST: &str = "nitrous_typescript_bindings";

/// The environment variable naming the file the test writes.
pub const OUT_ENV: &str = "NITROUS_TYPES_OUT";
