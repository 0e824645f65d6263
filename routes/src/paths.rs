//! The one table of paths that generated code names. Everything goes through the runtime's
//! `#[doc(hidden)] pub mod __private`, so a user's crate depends on `nitrous` alone and may shadow
//! `Result`, `Router` or `axum` around the macro call.

use proc_macro2::TokenStream;
use quote::quote;

/// axum's `Router`.
pub fn router() -> TokenStream {
    quote!(::nitrous::__private::Router)
}

/// axum's `MethodRouter`.
pub fn method_router() -> TokenStream {
    quote!(::nitrous::__private::MethodRouter)
}

/// axum's `MethodFilter`.
pub fn method_filter() -> TokenStream {
    quote!(::nitrous::__private::MethodFilter)
}

/// `layered(first, next)`: `first`, falling back to `next` for paths it does not match.
pub fn layered() -> TokenStream {
    quote!(::nitrous::__private::layered)
}

/// The route table type behind `static ROUTES`.
pub fn route_table() -> TokenStream {
    quote!(::nitrous::__private::RouteTable)
}

/// One row of the route table.
pub fn route_info() -> TokenStream {
    quote!(::nitrous::__private::RouteInfo)
}

/// A row's kind: HTTP, WebSocket or SSE.
pub fn route_kind() -> TokenStream {
    quote!(::nitrous::__private::RouteKind)
}

/// WebSocket route glue: `route`, `route_or`, and the `Build` specialisation.
pub fn ws() -> TokenStream {
    quote!(::nitrous::__private::ws)
}

/// Where a handler goes, for its registration function: `On::new(router, filter)`.
pub fn on() -> TokenStream {
    quote!(::nitrous::__private::On)
}

/// `Fallback::new(router)`: every method the route's other handlers do not answer.
pub fn fallback() -> TokenStream {
    quote!(::nitrous::__private::Fallback)
}

/// `Any::new()`: a route that answers every method.
pub fn any() -> TokenStream {
    quote!(::nitrous::__private::Any)
}

/// The function a handler attribute emits beside handler `name` (a raw identifier's name without
/// its `r#`), which `routes!` calls with where the handler goes.
pub fn registration(name: &str) -> proc_macro2::Ident {
    let name = name.strip_prefix("r#").unwrap_or(name);
    quote::format_ident!("__nitrous_route_{}", name)
}

/// The function a middleware attribute emits beside middleware `name` (a raw identifier's name
/// without its `r#`), which puts it in the chain.
pub fn middleware_layer(name: &str) -> proc_macro2::Ident {
    let name = name.strip_prefix("r#").unwrap_or(name);
    quote::format_ident!("__nitrous_middleware_{}", name)
}

/// The middleware chain's glue: `Inner`, `Layer`, `Wrap`, `through`.
pub fn middleware() -> TokenStream {
    quote!(::nitrous::__private::middleware)
}

/// One row of the route table's middleware chain.
pub fn middleware_info() -> TokenStream {
    quote!(::nitrous::__private::MiddlewareInfo)
}

/// The layer that gives every generated router its own hub.
pub fn own_hub_layer() -> TokenStream {
    quote!(::nitrous::__private::own_hub_layer)
}

/// The runtime's private door itself, for code the attributes emit.
pub fn private() -> TokenStream {
    quote!(::nitrous::__private)
}

/// axum's `FromRef`, which builds a stateful WebSocket handler.
pub fn from_ref() -> TokenStream {
    quote!(::nitrous::__private::FromRef)
}

/// The channel glue: `ChannelHandler` and the requests probe.
pub fn channel() -> TokenStream {
    quote!(::nitrous::__private::channel)
}

/// The TypeScript test's descriptors and probe.
pub fn types() -> TokenStream {
    quote!(::nitrous::__private::types)
}
