//! TypeScript for an app's channel routes: what `cargo nitrous types` writes. Each channel route
//! becomes a typed route for the browser client (`channelRoute<Params, In, Out, ...>(path)` from
//! `nitrous-client`), and each message type that derives `ts_rs::TS` its TypeScript declaration.
//!
//! `routes!` emits a test, `nitrous_typescript_bindings`, that builds the file (a type that cannot
//! be declared fails it) and writes it where `NITROUS_TYPES_OUT` says; `cargo nitrous types` runs
//! that test. A message type without `TS` is `unknown` in TypeScript, and the file says which.

mod bindings;
mod file;
mod probe;

pub use bindings::Bindings;
pub use file::{ChannelRoute, ChannelTypes, EventRoute, export};
pub use probe::{Declared, Ts, Undeclared};

use nitrous_routes::typescript::OUT_ENV;
