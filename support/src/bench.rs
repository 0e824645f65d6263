//! The variables by which `cargo xtask bench` tells its load generator (`bench-load`) how to run:
//! spelled here once, for the one that sets them and the one that reads them.

/// Names the `bun` binary that runs the Bun server (xtask installs it and sets this); without it,
/// the bench runs without Bun.
pub const BUN_ENV: &str = "NITROUS_BENCH_BUN";

/// Names the CPUs the servers run on, in `taskset -c`'s list form (`1`, `2-3`) (`--pin`); whoever
/// starts the load generator pins it to the others.
pub const SERVER_CPUS_ENV: &str = "NITROUS_BENCH_SERVER_CPUS";
