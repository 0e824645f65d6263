//! How a router runs its middleware folder: `routes!` puts every route of the router behind
//! [`through`], which runs the chain (each file's function, with axum's `from_fn_with_state`) and
//! then the route. The middleware attribute emits, beside each function, the [`Layer`] that
//! wraps it around the rest of the chain once its checks passed ([`Wrap`]).
//!
//! The chain runs inside the route, not as a `Router::layer`: a layer is built before the router
//! has its state, and a middleware takes `State<AppState>` like a handler does. So the chain is
//! assembled per request from the state the route is called with. It runs after the path matched
//! (its params and `MatchedPath` are there) and before the method is picked, so it sees every
//! method of the route, a 405 and a CORS preflight too, and a WebSocket upgrade before `upgrade`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{FromFn, from_fn_with_state};
use axum::response::Response;
use axum::routing::MethodRouter;
use tower::util::BoxCloneSyncService;
use tower::{Layer as _, Service, ServiceExt as _};

use crate::arguments::Checked;

/// The rest of the chain, and the route at its end.
pub type Inner = BoxCloneSyncService<Request, Response, Infallible>;

/// One middleware, as its attribute emits it: its function around `inner`, with the router's state.
pub type Layer<S> = fn(&S, Inner) -> Inner;

/// `route`, with `chain` run before it, first layer first (outermost).
pub fn through<S>(route: MethodRouter<S>, chain: &'static [Layer<S>]) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::any(Through {
        route: Arc::new(route),
        chain,
    })
}

/// A route behind its chain: the handler of every method, which hands the request to the route's
/// own method router at the end of the chain.
struct Through<S: 'static> {
    route: Arc<MethodRouter<S>>,
    chain: &'static [Layer<S>],
}

impl<S: 'static> Clone for Through<S> {
    fn clone(&self) -> Self {
        Through {
            route: self.route.clone(),
            chain: self.chain,
        }
    }
}

impl<S> Handler<(), S> for Through<S>
where
    S: Clone + Send + Sync + 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: S) -> Self::Future {
        let end = End {
            route: self.route,
            state: state.clone(),
        };
        let service = self
            .chain
            .iter()
            .rev()
            .fold(Inner::new(end), |inner, layer| layer(&state, inner));
        Box::pin(async move {
            match service.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    }
}

/// The end of the chain: the route's method router, called with the state.
struct End<S> {
    route: Arc<MethodRouter<S>>,
    state: S,
}

impl<S: Clone> Clone for End<S> {
    fn clone(&self) -> Self {
        End {
            route: self.route.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S> Service<Request> for End<S>
where
    S: Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::Map<
        <MethodRouter<S> as Handler<(), S>>::Future,
        fn(Response) -> Result<Response, Infallible>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = MethodRouter::clone(&self.route);
        futures_util::FutureExt::map(Handler::call(route, request, self.state.clone()), Ok)
    }
}

/// The checks of a middleware passed: it is wrapped around the chain, and only then must it be
/// a function axum's `from_fn_with_state` takes. Generated code calls
/// `Wrap::wrap(checks, function, state, inner)`: while a check is undecided (it failed, and was
/// reported at its type), so is this, and nothing more is reported.
pub trait Wrap<F, T, S> {
    /// `function` around `inner`, with `state`.
    fn wrap(self, function: F, state: &S, inner: Inner) -> Inner;
}

impl<F, T, S, M> Wrap<F, T, S> for Checked<M>
where
    F: Clone,
    S: Clone,
    FromFn<F, S, Inner, T>:
        Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    <FromFn<F, S, Inner, T> as Service<Request>>::Future: Send + 'static,
{
    fn wrap(self, function: F, state: &S, inner: Inner) -> Inner {
        Inner::new(from_fn_with_state::<F, S, T>(state.clone(), function).layer(inner))
    }
}
