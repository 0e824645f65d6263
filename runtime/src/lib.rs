#![doc = include_str!("../docs/lib.md")]

pub mod arguments;
pub mod broker;
pub mod channel;
mod dev;
mod hub;
mod layered;
mod middleware;
mod offset;
pub mod payload;
pub mod presence;
mod read_buffer;
mod register;
mod serve;
mod shutdown;
pub mod sse;
mod stall;
pub mod telemetry;
mod topic_name;
mod types;
pub mod ws;

#[doc(hidden)]
pub mod __private;

/// The axum that nitrous uses, so an app never has to match versions.
pub use axum;
pub use hub::{Hub, HubLayer, MAX_IDLE_RETAINED, Namespace, WithHub};
pub use nitrous_macros::{
    connect, delete, get, handler, head, middleware, options, patch, post, put, routes, sse, trace,
};
pub use nitrous_routes::table::{MiddlewareInfo, RouteInfo, RouteKind, RouteTable};
pub use offset::{NotAnOffset, Offset};
pub use payload::{IntoPayload, Json, Payload, PayloadError};
#[cfg(feature = "tls")]
pub use serve::Tls;
pub use serve::{
    BODY_TIMEOUT, HEADER_TIMEOUT, MAX_HEADER_BYTES, MAX_STREAMS, PING_INTERVAL, PING_TIMEOUT,
    SESSION_GRACE, Serve, WRITE_TIMEOUT, listen, serve, shutdown_signal,
};
/// The ts-rs that `cargo nitrous types` uses: `#[derive(nitrous::ts_rs::TS)]` with `#[ts(crate = "nitrous::ts_rs")]`, or depend on `ts-rs` 12 yourself.
pub use ts_rs;
