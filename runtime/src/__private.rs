//! The one door for code that `nitrous::routes!` generates. Not public API: names here change
//! without notice. The macro names these paths from one table, `macros/src/paths.rs`.

pub use crate::hub::Hub;
pub use crate::layered::layered;
pub use crate::route_table::{RouteInfo, RouteKind, RouteTable};
pub use crate::sse::extract::{OnShutdown as SseShutdown, respond as sse_respond};
/// WebSocket route glue: `route`, `route_or`, and the `Build` specialisation.
pub mod ws {
    pub use crate::ws::endpoint::{Build, BuildDefault, BuildFromState, route, route_or};
}
pub use axum::Router;
pub use axum::response::Response;
pub use axum::routing::{MethodFilter, MethodRouter};
