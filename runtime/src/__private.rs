//! The one door for code that `nitrous::routes!` generates. Not public API: names here change
//! without notice. The macro names these paths from one table, `routes/src/paths.rs` (crate `nitrous-routes`).

pub use crate::arguments::{
    Checked, HandlerOutput, HeadArgument, LastArgument, MiddlewareArgument, MiddlewareNext,
    MiddlewareOutput, MiddlewareRequest, middleware_future,
};
use crate::hub::Hub;
pub use crate::register::{Any, Fallback, On, Passed, Register, both};

/// The hub layer every generated router carries: the router's own hub, used unless an outer
/// `hub.layer()` put the app's in first.
pub fn own_hub_layer() -> crate::hub::HubLayer {
    Hub::own().own_layer()
}
pub use crate::layered::layered;
pub use crate::sse::extract::{OnShutdown as SseShutdown, respond as sse_respond};
pub use nitrous_routes::table::{MiddlewareInfo, RouteInfo, RouteKind, RouteTable};
/// Channel route glue: the handler around a channel, and whether it answers requests.
pub mod channel {
    pub use crate::channel::{
        Channel, ChannelHandler, Probe, Requests, WithRequests, WithoutRequests,
    };
}
/// The TypeScript test `routes!` emits: route descriptors, and the declaration probe.
pub mod types {
    pub use crate::types::{
        Bindings, ChannelRoute, ChannelTypes, Declared, EventRoute, Ts, Undeclared, export,
    };
}
/// The middleware chain: `through` puts a route behind it, `Wrap` wraps one middleware around it.
pub mod middleware {
    pub use crate::middleware::{Inner, Layer, Wrap, through};
}
/// WebSocket route glue: `route`, `OrSocket`, and the `Build` specialisation.
pub mod ws {
    pub use crate::ws::route::{Build, BuildDefault, BuildFromState, OrSocket, route};
}
pub use axum::Router;
pub use axum::extract::FromRef;
pub use axum::response::Response;
pub use axum::routing::{MethodFilter, MethodRouter};
