//! The one table of paths that generated code names. Everything goes through the runtime's
//! `#[doc(hidden)] pub mod __private`, so a user's crate depends on `nitrous` alone and may shadow
//! `Result`, `Router` or `axum` around the macro call.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn router() -> TokenStream {
    quote!(::nitrous::__private::Router)
}

pub(crate) fn method_router() -> TokenStream {
    quote!(::nitrous::__private::MethodRouter)
}

pub(crate) fn method_filter() -> TokenStream {
    quote!(::nitrous::__private::MethodFilter)
}

/// `layered(first, next)`: `first`, falling back to `next` for paths it does not match.
pub(crate) fn layered() -> TokenStream {
    quote!(::nitrous::__private::layered)
}

pub(crate) fn route_table() -> TokenStream {
    quote!(::nitrous::__private::RouteTable)
}

pub(crate) fn route_info() -> TokenStream {
    quote!(::nitrous::__private::RouteInfo)
}

pub(crate) fn route_kind() -> TokenStream {
    quote!(::nitrous::__private::RouteKind)
}

/// WebSocket route glue: `route`, `route_or`, and the `Build` specialisation.
pub(crate) fn ws() -> TokenStream {
    quote!(::nitrous::__private::ws)
}

pub(crate) fn hub() -> TokenStream {
    quote!(::nitrous::__private::Hub)
}

/// The runtime's private door itself, for code the attributes emit.
pub(crate) fn private() -> TokenStream {
    quote!(::nitrous::__private)
}
