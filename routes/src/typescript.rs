//! How `cargo nitrous types` asks an app for its TypeScript: it runs the test `routes!` emits,
//! named [`TEST`], with [`OUT_ENV`] naming the file to write.

/// The test `routes!` emits beside the router.
pub const TEST: &str = "nitrous_typescript_bindings";

/// The environment variable naming the file the test writes.
pub const OUT_ENV: &str = "NITROUS_TYPES_OUT";

/// The prefix of the alias `#[nitrous::sse(data = T)]` gives `T` beside its function, so the test
/// names it from outside the route file: `__nitrous_sse_data_clock` for `fn clock`.
pub const SSE_DATA_PREFIX: &str = "__nitrous_sse_data_";
