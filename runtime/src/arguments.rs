//! Compile-time checks of handlers. The handler attributes check each argument in the route file:
//! one that is not an extractor is reported at that argument, in words. The generated router
//! registers handlers through [`on`], [`fallback`] and [`any`], so the `Handler` bound that follows
//! such a mistake says where to look instead of suggesting `#[axum::debug_handler]`.

use axum::extract::{FromRequest, FromRequestParts};
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};

/// An argument before the last: an extractor from the request's head.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument here: the arguments before the last are extractors from the request's head (`FromRequestParts<{S}>`)",
    label = "not an extractor from the request's head",
    note = "extractors that read the body (`Json`, `Form`, `String`, `Bytes`, `Request`) go last; the others (`Path`, `Query`, `State`, `HeaderMap`, ...) go anywhere",
    note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequestParts<{S}> for {Self}`"
)]
pub trait HeadArgument<S> {}

impl<T: FromRequestParts<S>, S> HeadArgument<S> for T {}

/// The last argument: any extractor.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor, so it cannot be a handler argument",
    label = "not an extractor",
    note = "a handler takes axum extractors: `Path<T>`, `Query<T>`, `Json<T>` (for a JSON body: `Json(todo): Json<{Self}>`), `State<T>`, `HeaderMap`, ...",
    note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequest<{S}> for {Self}` (or `FromRequestParts`)"
)]
pub trait LastArgument<S, M> {}

impl<T: FromRequest<S, M>, S, M> LastArgument<S, M> for T {}

/// Compiles when `T` may come before the last argument of a handler on a `Router<S>`.
pub const fn head_argument<T: HeadArgument<S>, S>() {}

/// Compiles when `T` may be the last argument of a handler on a `Router<S>`.
pub const fn last_argument<T: LastArgument<S, M>, S, M>() {}

/// A handler the generated router registers: axum's `Handler`, with a message that says where
/// to look when it is not one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler axum can call",
    label = "not an axum handler",
    note = "an argument that is not an extractor is reported at that argument, in the route file; if none is, the return type does not implement `IntoResponse` (a `String`, `Json<T>`, `StatusCode`, `Result<T, E>` of those, ...)"
)]
pub trait RouteHandler<T, S>: Handler<T, S> {}

impl<H: Handler<T, S>, T, S> RouteHandler<T, S> for H {}

/// `router.on(filter, handler)`, for generated code.
pub fn on<H, T, S>(router: MethodRouter<S>, filter: MethodFilter, handler: H) -> MethodRouter<S>
where
    H: RouteHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    router.on(filter, handler)
}

/// `router.fallback(handler)`, for generated code.
pub fn fallback<H, T, S>(router: MethodRouter<S>, handler: H) -> MethodRouter<S>
where
    H: RouteHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    router.fallback(handler)
}

/// `axum::routing::any(handler)`, for generated code.
pub fn any<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: RouteHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::routing::any(handler)
}
