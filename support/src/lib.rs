//! The child processes that nitrous's integration tests, its bench (`bench-load`) and `cargo xtask`
//! start, in one place: a [`Process`] killed and reaped on drop, started until a line of its
//! output says it is ready ([`Process::start`]); a [`RedisServer`] on a port of its own, which
//! can be paused, resumed, stopped and restarted; and a process's memory as `/proc` tells it
//! ([`rss_kib`], [`peak_rss_kib`]); and the variables by which `cargo xtask bench` drives
//! `bench-load` ([`bench`]). Linux only, std only.

pub mod bench;
mod error;
mod memory;
mod process;
mod redis;

pub use error::Error;
pub use memory::{peak_rss_kib, rss_kib};
pub use process::{Process, READY_WITHIN, Signal};
pub use redis::RedisServer;
