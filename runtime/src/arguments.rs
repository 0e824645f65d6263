//! What a handler's and a middleware's arguments and output must be. `#[nitrous::get]`, its
//! siblings, `#[nitrous::sse]` and `#[nitrous::middleware]` check each argument, and the output,
//! against these traits at its own place in the file: a mistake is reported there, once, in words,
//! and the router that `routes!` generates adds no second error for it. Every axum extractor
//! implements the argument traits and every `IntoResponse` type the output ones; nothing else
//! needs to.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::IntoResponse;

/// Declares a check: a trait whose `CHECKED` proves that a type passed it, implemented once for
/// each way to pass (`Way: Bound`). A check has two ways at least (`Nothing: Unreachable` when it
/// has one), so that a type that passes none leaves the way undecided: rustc reports that in the
/// check's words, at the type, and what depends on the check is not reported again.
macro_rules! check {
    ($(#[$attr:meta])* pub trait $name:ident<$param:ident, M> { $($way:ident: $bound:path),+ $(,)? }) => {
        $(#[$attr])*
        pub trait $name<$param, M> {
            #[doc(hidden)]
            type Checked;
            #[doc(hidden)]
            const CHECKED: Self::Checked;
        }
        $(
            impl<T: $bound, $param> $name<$param, $way> for T {
                type Checked = Checked<$way>;
                const CHECKED: Checked<$way> = Checked(PhantomData);
            }
        )+
    };
    ($(#[$attr:meta])* pub trait $name:ident<M> { $($way:ident: $bound:path),+ $(,)? }) => {
        $(#[$attr])*
        pub trait $name<M> {
            #[doc(hidden)]
            type Checked;
            #[doc(hidden)]
            const CHECKED: Self::Checked;
        }
        $(
            impl<T: $bound> $name<$way> for T {
                type Checked = Checked<$way>;
                const CHECKED: Checked<$way> = Checked(PhantomData);
            }
        )+
    };
}

check! {
    /// An argument before the last: an extractor from the request's head (`FromRequestParts<S>`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a handler argument here: the arguments before the last are extractors from the request's head (`FromRequestParts<{S}>`)",
        label = "not an extractor from the request's head",
        note = "extractors that read the body (`Json`, `Form`, `String`, `Bytes`, `Request`) go last; the others (`Path`, `Query`, `State`, `HeaderMap`, ...) go anywhere",
        note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequestParts<{S}> for {Self}`"
    )]
    pub trait HeadArgument<S, M> {
        Head: FromRequestParts<S>,
        Nothing: Unreachable,
    }
}

check! {
    /// The last argument: any extractor (`FromRequestParts<S>`, or `FromRequest<S>`, which may
    /// read the body).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not an extractor, so it cannot be a handler argument",
        label = "not an extractor",
        note = "a handler takes axum extractors: `Path<T>`, `Query<T>`, `Json<T>` (for a JSON body: `Json(todo): Json<{Self}>`), `State<T>`, `HeaderMap`, ...",
        note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequest<{S}> for {Self}` (or `FromRequestParts`)"
    )]
    pub trait LastArgument<S, M> {
        Head: FromRequestParts<S>,
        Body: FromRequest<S>,
    }
}

check! {
    /// What a handler returns: a response (`IntoResponse`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a response, so a handler cannot return it",
        label = "not a response",
        note = "a handler returns what axum can answer with: a `String`, `&'static str`, `Json<T>`, `StatusCode`, `Html<T>`, `Response`, a tuple of a status and one of those, or a `Result` of two of them",
        note = "a type of your own becomes a response with `impl nitrous::axum::response::IntoResponse for {Self}`"
    )]
    pub trait HandlerOutput<M> {
        Output: IntoResponse,
        Nothing: Unreachable,
    }
}

check! {
    /// A middleware's argument before the request: an extractor from the request's head
    /// (`FromRequestParts<S>`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a middleware argument here: the arguments before the request are extractors from the request's head (`FromRequestParts<{S}>`)",
        label = "not an extractor from the request's head",
        note = "a middleware takes extractors (`State`, `HeaderMap`, `Path`, ...), then the request (`Request`), then `Next`",
        note = "a type of your own becomes an extractor with `impl nitrous::axum::extract::FromRequestParts<{S}> for {Self}`"
    )]
    pub trait MiddlewareArgument<S, M> {
        Head: FromRequestParts<S>,
        Nothing: Unreachable,
    }
}

check! {
    /// A middleware's argument before `Next`: the request, which it hands on (`FromRequest<S>`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the request of a middleware: the argument before `Next` is the request, which the middleware hands on with `next.run(request)`",
        label = "not the request",
        note = "write `request: Request` (`nitrous::axum::extract::Request`) before `next: Next`; extractors such as `HeaderMap` go before the request"
    )]
    pub trait MiddlewareRequest<S, M> {
        Body: FromRequest<S>,
        Nothing: Unreachable,
    }
}

check! {
    /// A middleware's last argument: `Next`, the rest of the chain and the route.
    #[diagnostic::on_unimplemented(
        message = "a middleware's last argument is `Next`, not `{Self}`",
        label = "not `Next`",
        note = "write `next: Next` (`nitrous::axum::middleware::Next`) last; `next.run(request).await` runs the rest of the chain and the route"
    )]
    pub trait MiddlewareNext<M> {
        Rest: IsNext,
        Nothing: Unreachable,
    }
}

/// axum's `Next`, as a bound: with it, both ways of [`MiddlewareNext`] are bounds on any type,
/// so another type leaves the way undecided, as in the other checks.
#[doc(hidden)]
pub trait IsNext {}

impl IsNext for axum::middleware::Next {}

check! {
    /// What a middleware returns: a response (`IntoResponse`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a response, so a middleware cannot return it",
        label = "not a response",
        note = "a middleware returns the route's response (`next.run(request).await`, a `Response`) or its own answer instead (`StatusCode::UNAUTHORIZED`, `(StatusCode, &str)`, ...)",
        note = "a type of your own becomes a response with `impl nitrous::axum::response::IntoResponse for {Self}`"
    )]
    pub trait MiddlewareOutput<M> {
        Output: IntoResponse,
        Nothing: Unreachable,
    }
}

check! {
    /// A middleware's future can move between threads (`Send`), as the server's tasks need.
    /// Checked on the function with its argument types, `A`, so that a future that is not `Send`
    /// is reported in these words rather than as a bound of axum's `from_fn` that is not met.
    #[diagnostic::on_unimplemented(
        message = "this middleware's future is not `Send`, so the server cannot run it",
        label = "its future is not `Send`",
        note = "it holds something that is not `Send` across an `.await` (an `Rc`, a `RefCell` borrow, a `std::sync::MutexGuard`): drop it before the `.await`, or use `Arc` or `tokio::sync::Mutex`"
    )]
    pub trait MiddlewareFuture<A, M> {
        Nothing: Unreachable,
    }
}

/// The way a function passes [`MiddlewareFuture`], `Sent`, for each number of arguments.
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

// How a check passes (see `check!`).
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
