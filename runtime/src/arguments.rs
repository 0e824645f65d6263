//! What a handler's and a middleware's arguments and output must be. `#[nitrous::get]`, its
//! siblings, `#[nitrous::sse]` and `#[nitrous::middleware]` check each argument, and the output,
//! against these traits at its own place in the file: a mistake is reported there, once, in words,
//! and the router that `routes!` generates adds no second error for it. Every axum extractor
//! implements the argument traits and every `IntoResponse` type the output ones; nothing else
//! needs to.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::IntoResponse;

/// An argument before the last: an extractor from the request's head (`FromRequestParts<S>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument here: the arguments before the last are extractors from the request's head (`FromRequestParts<{S}>`)",
    label = "not an extractor from the request's head",
    note = "extractors that read the body (`Json`, `Form`, `String`, `Bytes`, `Request`) go last; the others (`Path`, `Query`, `State`, `HeaderMap`, ...) go anywhere",
    note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequestParts<{S}> for {Self}`"
)]
pub trait HeadArgument<S, M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: FromRequestParts<S>, S> HeadArgument<S, Head> for T {
    type Checked = Checked<Head>;
    const CHECKED: Checked<Head> = Checked(PhantomData);
}

impl<T: Unreachable, S> HeadArgument<S, Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// The last argument: any extractor (`FromRequestParts<S>`, or `FromRequest<S>`, which may read
/// the body).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor, so it cannot be a handler argument",
    label = "not an extractor",
    note = "a handler takes axum extractors: `Path<T>`, `Query<T>`, `Json<T>` (for a JSON body: `Json(todo): Json<{Self}>`), `State<T>`, `HeaderMap`, ...",
    note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequest<{S}> for {Self}` (or `FromRequestParts`)"
)]
pub trait LastArgument<S, M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: FromRequestParts<S>, S> LastArgument<S, Head> for T {
    type Checked = Checked<Head>;
    const CHECKED: Checked<Head> = Checked(PhantomData);
}

impl<T: FromRequest<S>, S> LastArgument<S, Body> for T {
    type Checked = Checked<Body>;
    const CHECKED: Checked<Body> = Checked(PhantomData);
}

/// What a handler returns: a response (`IntoResponse`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response, so a handler cannot return it",
    label = "not a response",
    note = "a handler returns what axum can answer with: a `String`, `&'static str`, `Json<T>`, `StatusCode`, `Html<T>`, `Response`, a tuple of a status and one of those, or a `Result` of two of them",
    note = "a type of your own becomes a response with `impl nitrous::axum::response::IntoResponse for {Self}`"
)]
pub trait HandlerOutput<M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: IntoResponse> HandlerOutput<Output> for T {
    type Checked = Checked<Output>;
    const CHECKED: Checked<Output> = Checked(PhantomData);
}

impl<T: Unreachable> HandlerOutput<Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// A middleware's argument before the request: an extractor from the request's head
/// (`FromRequestParts<S>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a middleware argument here: the arguments before the request are extractors from the request's head (`FromRequestParts<{S}>`)",
    label = "not an extractor from the request's head",
    note = "a middleware takes extractors (`State`, `HeaderMap`, `Path`, ...), then the request (`Request`), then `Next`",
    note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequestParts<{S}> for {Self}`"
)]
pub trait MiddlewareArgument<S, M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: FromRequestParts<S>, S> MiddlewareArgument<S, Head> for T {
    type Checked = Checked<Head>;
    const CHECKED: Checked<Head> = Checked(PhantomData);
}

impl<T: Unreachable, S> MiddlewareArgument<S, Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// A middleware's argument before `Next`: the request, which it hands on (`FromRequest<S>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the request of a middleware: the argument before `Next` is the request, which the middleware hands on with `next.run(request)`",
    label = "not the request",
    note = "write `request: Request` (`nitrous::axum::extract::Request`) before `next: Next`; extractors such as `HeaderMap` go before the request"
)]
pub trait MiddlewareRequest<S, M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: FromRequest<S>, S> MiddlewareRequest<S, Body> for T {
    type Checked = Checked<Body>;
    const CHECKED: Checked<Body> = Checked(PhantomData);
}

impl<T: Unreachable, S> MiddlewareRequest<S, Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// A middleware's last argument: `Next`, the rest of the chain and the route.
#[diagnostic::on_unimplemented(
    message = "a middleware's last argument is `Next`, not `{Self}`",
    label = "not `Next`",
    note = "write `next: Next` (`nitrous::axum::middleware::Next`) last; `next.run(request).await` runs the rest of the chain and the route"
)]
pub trait MiddlewareNext<M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: IsNext> MiddlewareNext<Rest> for T {
    type Checked = Checked<Rest>;
    const CHECKED: Checked<Rest> = Checked(PhantomData);
}

/// axum's `Next`, as a bound: with it, both ways of [`MiddlewareNext`] are bounds on any type,
/// so another type leaves the way undecided, as the other checks do.
#[doc(hidden)]
pub trait IsNext {}

impl IsNext for axum::middleware::Next {}

impl<T: Unreachable> MiddlewareNext<Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// What a middleware returns: a response (`IntoResponse`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response, so a middleware cannot return it",
    label = "not a response",
    note = "a middleware returns the route's response (`next.run(request).await`, a `Response`) or its own answer instead (`StatusCode::UNAUTHORIZED`, `(StatusCode, &str)`, ...)",
    note = "a type of your own becomes a response with `impl nitrous::axum::response::IntoResponse for {Self}`"
)]
pub trait MiddlewareOutput<M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

impl<T: IntoResponse> MiddlewareOutput<Output> for T {
    type Checked = Checked<Output>;
    const CHECKED: Checked<Output> = Checked(PhantomData);
}

impl<T: Unreachable> MiddlewareOutput<Nothing> for T {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// A middleware's future can move between threads (`Send`), as the server's tasks need. Checked
/// on the function with its argument types, `A`, so that a future that is not `Send` is reported
/// in these words rather than as a bound of axum's `from_fn` that is not met.
#[diagnostic::on_unimplemented(
    message = "this middleware's future is not `Send`, so the server cannot run it",
    label = "its future is not `Send`",
    note = "it holds something that is not `Send` across an `.await` (an `Rc`, a `RefCell` borrow, a `std::sync::MutexGuard`): drop it before the `.await`, or use `Arc` or `tokio::sync::Mutex`"
)]
pub trait MiddlewareFuture<A, M> {
    #[doc(hidden)]
    type Checked;
    #[doc(hidden)]
    const CHECKED: Self::Checked;
}

macro_rules! middleware_future {
    ($($argument:ident),+) => {
        impl<F, Fut, $($argument,)+> MiddlewareFuture<($($argument,)+), Sent> for F
        where
            F: FnOnce($($argument),+) -> Fut,
            Fut: std::future::Future + Send,
        {
            type Checked = Checked<Sent>;
            const CHECKED: Checked<Sent> = Checked(PhantomData);
        }
    };
}

// The request and `Next`, after up to 15 extractors: what axum's `from_fn` takes.
middleware_future!(A1, A2);
middleware_future!(A1, A2, A3);
middleware_future!(A1, A2, A3, A4);
middleware_future!(A1, A2, A3, A4, A5);
middleware_future!(A1, A2, A3, A4, A5, A6);
middleware_future!(A1, A2, A3, A4, A5, A6, A7);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
middleware_future!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
middleware_future!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
middleware_future!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);
middleware_future!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17
);

impl<F: Unreachable, A> MiddlewareFuture<A, Nothing> for F {
    type Checked = Checked<Nothing>;
    const CHECKED: Checked<Nothing> = Checked(PhantomData);
}

/// The [`MiddlewareFuture`] check of `function`, called with arguments of the types `A`.
#[doc(hidden)]
pub const fn middleware_future<F: MiddlewareFuture<A, M>, A, M>(_function: &F) -> F::Checked {
    F::CHECKED
}

/// A check that passed, and how (for generated code).
#[doc(hidden)]
#[derive(Debug)]
pub struct Checked<M>(PhantomData<M>);

impl Checked<()> {
    /// Nothing to check.
    pub const NOTHING: Checked<()> = Checked(PhantomData);
}

// How a check passes. Each trait has two ways, so that a type that passes neither leaves the way
// undecided: rustc reports that in the check's words, at the type, and what depends on the check
// (the registration) is not reported again.
#[doc(hidden)]
#[derive(Debug)]
pub enum Head {}
#[doc(hidden)]
#[derive(Debug)]
pub enum Body {}
#[doc(hidden)]
#[derive(Debug)]
pub enum Output {}
#[doc(hidden)]
#[derive(Debug)]
pub enum Rest {}
#[doc(hidden)]
#[derive(Debug)]
pub enum Sent {}
#[doc(hidden)]
#[derive(Debug)]
pub enum Nothing {}

/// Implemented by no type: the way no check passes.
#[doc(hidden)]
pub trait Unreachable {}
