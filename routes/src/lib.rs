//! The route model of [nitrous](https://docs.rs/nitrous), shared by the `routes!` macro
//! (`nitrous-macros`), `cargo nitrous` and the project's xtask, so all of them read a routes folder
//! the same way and report the same errors. Plain functions over `proc_macro2`, tested without a
//! compiler run (cargo feature `model`, on by default):
//!
//! - [`scan`]: the files under a routes (or middleware) folder, and whether it has an `api/`
//!   subfolder;
//! - [`route`]: a file's path to its route (Nitro's conventions), a pure function;
//! - [`classify`]: what a route file serves, read from its syntax;
//! - [`validate`]: the route table, with every problem found;
//! - [`middleware`]: the middleware folder: a file's name to its place in the chain, and the chain;
//! - [`args`]: the arguments of `routes!(...)`;
//! - [`folder`]: the folders a call reads, resolved, scanned and checked;
//! - [`expand`]: the code `routes!` generates, naming paths from [`paths`];
//! - [`build_script`]: whether cargo sees new files, and the `build.rs` line to add when not;
//! - [`listing`]: a crate's route table from its sources, as `cargo nitrous routes` prints it;
//!
//! and, always, [`table`]: the route table as an app carries it (`static ROUTES`) and prints it,
//! which the runtime re-exports (without the `model` feature, so apps do not build syn twice), and
//! [`typescript`]: how `cargo nitrous types` asks an app for its TypeScript.
//!
//! Not a stable API: it changes with the macro.

#[cfg(feature = "model")]
pub mod args;
#[cfg(feature = "model")]
pub mod build_script;
#[cfg(feature = "model")]
pub mod classify;
#[cfg(feature = "model")]
pub mod expand;
#[cfg(feature = "model")]
pub mod folder;
#[cfg(feature = "model")]
pub mod listing;
#[cfg(feature = "model")]
pub mod middleware;
#[cfg(feature = "model")]
pub mod paths;
#[cfg(feature = "model")]
pub mod route;
#[cfg(feature = "model")]
pub mod scan;
pub mod table;
pub mod typescript;
#[cfg(feature = "model")]
pub mod validate;

#[cfg(test)]
mod tests;
