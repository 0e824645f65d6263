//! How generated code registers a handler: the handler attributes emit, beside each handler, a
//! function that registers it with the result of its checks ([`crate::arguments`]), and `routes!`
//! calls that function with where the handler goes ([`On`], [`Fallback`], [`Any`]). The `Handler`
//! bound is asked only once every check passed, so a handler whose argument is no extractor is
//! reported at that argument alone.

use std::marker::PhantomData;

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};

use crate::arguments::Checked;

/// Where a handler goes.
pub trait Register<S> {
    /// `handler`, registered here.
    fn register<H: Handler<T, S>, T: 'static>(self, handler: H) -> MethodRouter<S>;

    /// What is here, without the handler (whose attribute reported why).
    fn skip(self) -> MethodRouter<S>;
}

/// `router.on(filter, handler)`.
#[derive(Debug)]
pub struct On<S> {
    router: MethodRouter<S>,
    filter: MethodFilter,
}

impl<S> On<S> {
    /// The handler for `filter`'s methods on `router`.
    pub fn new(router: MethodRouter<S>, filter: MethodFilter) -> On<S> {
        On { router, filter }
    }
}

impl<S: Clone + Send + Sync + 'static> Register<S> for On<S> {
    fn register<H: Handler<T, S>, T: 'static>(self, handler: H) -> MethodRouter<S> {
        self.router.on(self.filter, handler)
    }

    fn skip(self) -> MethodRouter<S> {
        self.router
    }
}

/// `router.fallback(handler)`: every method `router` does not answer.
#[derive(Debug)]
pub struct Fallback<S>(MethodRouter<S>);

impl<S> Fallback<S> {
    /// The handler for every other method on `router`.
    pub fn new(router: MethodRouter<S>) -> Fallback<S> {
        Fallback(router)
    }
}

impl<S: Clone + Send + Sync + 'static> Register<S> for Fallback<S> {
    fn register<H: Handler<T, S>, T: 'static>(self, handler: H) -> MethodRouter<S> {
        self.0.fallback(handler)
    }

    fn skip(self) -> MethodRouter<S> {
        self.0
    }
}

/// `axum::routing::any(handler)`: a route that answers every method.
#[derive(Debug)]
pub struct Any<S>(PhantomData<fn() -> S>);

impl<S> Any<S> {
    /// A route of the handler alone.
    pub fn new() -> Any<S> {
        Any(PhantomData)
    }
}

impl<S> Default for Any<S> {
    fn default() -> Self {
        Any::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Register<S> for Any<S> {
    fn register<H: Handler<T, S>, T: 'static>(self, handler: H) -> MethodRouter<S> {
        axum::routing::any(handler)
    }

    fn skip(self) -> MethodRouter<S> {
        MethodRouter::new()
    }
}

/// The checks of a handler passed: it is registered, and only then must it be a `Handler`.
/// Generated code calls `Passed::register(checks, to, handler)`: while a check is undecided
/// (it failed, and was reported at its type), so is this, and nothing more is reported.
pub trait Passed<H, T, S> {
    /// `handler`, registered where `to` says.
    fn register<R: Register<S>>(self, to: R, handler: H) -> MethodRouter<S>;
}

impl<H: Handler<T, S>, T: 'static, S, M> Passed<H, T, S> for Checked<M> {
    fn register<R: Register<S>>(self, to: R, handler: H) -> MethodRouter<S> {
        to.register(handler)
    }
}

/// Two checks, both passed.
pub trait Both<B> {
    /// The second.
    type Passed;

    /// The second.
    fn both(self, second: B) -> Self::Passed;
}

impl<M, B> Both<B> for Checked<M> {
    type Passed = B;

    fn both(self, second: B) -> B {
        second
    }
}

/// `first` and `second` passed: `second` (undecided while `first` is).
pub fn both<A: Both<B>, B>(first: A, second: B) -> A::Passed {
    first.both(second)
}
