//! Compile-time checks of a handler's arguments, which the handler attributes emit in the route
//! file: an argument that is not an extractor is reported at that argument, in words, rather than
//! as an unsatisfied `Handler` bound at the `routes!` call.

use axum::extract::{FromRequest, FromRequestParts};

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
