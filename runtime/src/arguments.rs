//! What a handler's arguments and its output must be. `#[nitrous::get]`, its siblings and
//! `#[nitrous::sse]` check each argument, and the output, against these traits at its own place in
//! the route file: a mistake is reported there, once, in words, and the router that `routes!`
//! generates adds no second error for it. Every axum extractor implements the argument traits and
//! every `IntoResponse` type the output one; nothing else needs to.

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
pub enum Nothing {}

/// Implemented by no type: the way no check passes.
#[doc(hidden)]
pub trait Unreachable {}
