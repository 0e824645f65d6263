//! The axum side of a WebSocket route: its handler, and how the generated router builds the
//! [`WebSocketHandler`] behind it. `routes!` names [`route`], [`OrSocket`] and [`Build`] through
//! `__private`.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRef, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use futures_util::future::Either;

use super::endpoint::{Endpoint, Upgrading};
use super::{WebSocketHandler, upgrade};
use crate::register::Register;

/// A route's endpoint, shared by the clones axum makes of its handler, built on first use.
type Cell<T> = Arc<OnceLock<Arc<Endpoint<T>>>>;

/// The route's endpoint, built from the router state by `build` if this is its first request.
fn endpoint<T: WebSocketHandler, S>(
    cell: &Cell<T>,
    build: fn(&S) -> T,
    state: &S,
) -> Arc<Endpoint<T>> {
    cell.get_or_init(|| Arc::new(Endpoint::new(build(state))))
        .clone()
}

/// The methods a WebSocket handshake comes as: GET (HTTP/1.1) and CONNECT (HTTP/2, RFC 8441).
const HANDSHAKE: MethodFilter = MethodFilter::GET.or(MethodFilter::CONNECT);

/// A GET route (and CONNECT, for HTTP/2) that upgrades to a WebSocket session of `T`, built from
/// the router state by `build` on the first request.
pub fn route<S, T>(build: fn(&S) -> T) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    T: WebSocketHandler,
{
    on(HANDSHAKE, Upgrader::new(build))
}

/// The axum handler of a WebSocket route: a [`Handler`] of its own rather than a closure with
/// extractors, so that a handshake's future is [`Upgrading`] and nothing around it.
struct Upgrader<S, T> {
    cell: Cell<T>,
    build: fn(&S) -> T,
}

impl<S, T> Upgrader<S, T> {
    fn new(build: fn(&S) -> T) -> Self {
        Upgrader {
            cell: Arc::default(),
            build,
        }
    }
}

impl<S, T> Clone for Upgrader<S, T> {
    fn clone(&self) -> Self {
        Upgrader {
            cell: self.cell.clone(),
            build: self.build,
        }
    }
}

/// The type parameter of [`Upgrader`]'s [`Handler`] impls, which axum uses to tell a handler's
/// impls apart (a closure's extractors): these extract nothing.
struct Upgrades;

impl<S, T> Handler<Upgrades, S> for Upgrader<S, T>
where
    S: Clone + Send + Sync + 'static,
    T: WebSocketHandler,
{
    type Future = Upgrading;

    fn call(self, request: Request, state: S) -> Upgrading {
        endpoint(&self.cell, self.build, &state).upgrade(request)
    }
}

/// Where the GET handler in a WebSocket route's file goes: [`route`], with the handler answering
/// GET requests that are not upgrades ([`Register`] for the handler attributes' registration).
#[derive(Debug)]
pub struct OrSocket<S, T>(fn(&S) -> T);

impl<S, T> OrSocket<S, T> {
    /// Beside the socket whose handler `build` makes.
    pub fn new(build: fn(&S) -> T) -> OrSocket<S, T> {
        OrSocket(build)
    }
}

impl<S, T> Register<S> for OrSocket<S, T>
where
    S: Clone + Send + Sync + 'static,
    T: WebSocketHandler,
{
    fn register<H: Handler<X, S>, X: 'static>(self, http: H) -> MethodRouter<S> {
        on(
            HANDSHAKE,
            UpgraderOr {
                socket: Upgrader::new(self.0),
                http,
                _extractors: PhantomData,
            },
        )
    }

    fn skip(self) -> MethodRouter<S> {
        route(self.0)
    }
}

/// [`Upgrader`], with `http` answering GET requests that are not upgrades.
struct UpgraderOr<S, T, H, X> {
    socket: Upgrader<S, T>,
    http: H,
    _extractors: PhantomData<fn() -> X>,
}

impl<S, T, H: Clone, X> Clone for UpgraderOr<S, T, H, X> {
    fn clone(&self) -> Self {
        UpgraderOr {
            socket: self.socket.clone(),
            http: self.http.clone(),
            _extractors: PhantomData,
        }
    }
}

impl<S, T, H, X> Handler<Upgrades, S> for UpgraderOr<S, T, H, X>
where
    S: Clone + Send + Sync + 'static,
    T: WebSocketHandler,
    H: Handler<X, S>,
    X: 'static,
{
    type Future = Either<Upgrading, H::Future>;

    fn call(self, request: Request, state: S) -> Self::Future {
        if request.method() == Method::CONNECT || upgrade::asks_for_websocket(request.headers()) {
            Either::Left(self.socket.call(request, state))
        } else {
            Either::Right(self.http.call(request, state))
        }
    }
}

/// Picks how a handler is built, in generated code where `T` and `S` are concrete: from the state
/// when `T: FromRef<S>`, else `T::default()` (the one way for a router without state), else the
/// generated code's own third level, whose bound fails with a message naming the route file
/// (autoref specialisation: `(&&&Build::new()).build(s)`).
#[derive(Debug)]
pub struct Build<T, S>(PhantomData<fn(&S) -> T>);

impl<T, S> Build<T, S> {
    #[allow(clippy::new_without_default)]
    /// The marker the generated router builds a handler with.
    pub const fn new() -> Self {
        Build(PhantomData)
    }
}

/// Builds a stateful handler from the router state (`FromRef`), picked over [`BuildDefault`]
/// when both apply.
pub trait BuildFromState<T, S> {
    /// The handler, from the router state.
    fn build(&self, state: &S) -> T;
}

impl<T: FromRef<S>, S> BuildFromState<T, S> for &&Build<T, S> {
    fn build(&self, state: &S) -> T {
        T::from_ref(state)
    }
}

/// Builds a stateless handler with `Default`.
pub trait BuildDefault<T, S> {
    /// The handler, ignoring the router state.
    fn build(&self, state: &S) -> T;
}

impl<T: Default, S> BuildDefault<T, S> for &Build<T, S> {
    fn build(&self, _: &S) -> T {
        T::default()
    }
}
