//! The axum side of a WebSocket route: the origin check, the `upgrade` hook, and the hand-off to a
//! session. `routes!` names [`route`] and [`OrSocket`] through `__private`.

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use axum::extract::{
    ConnectInfo, FromRef, FromRequestParts, MatchedPath, RawPathParams, Request, State,
};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use futures_util::FutureExt;

use super::headers::RequestHeaders;
use super::peer::{PeerParts, PeerSet};
use super::socket::{Limits, Socket};
use super::stream::Stream;
use super::upgrade;
use super::{Options, Peer, UpgradeRequest, WebSocketHandler, session};
use crate::hub::Hub;
use crate::register::Register;
use crate::shutdown::Shutdown;
use crate::telemetry;

/// Why a cross-origin upgrade was refused, what was compared, and the two ways to allow it.
fn origin_refusal(origin: &str, host: &str) -> String {
    format!(
        "refused a cross-origin WebSocket upgrade: the page's Origin {origin} names another host \
         than the request's Host {host}, and this route's allowed origins do not list it. A dev proxy \
         that rewrites Host (Vite's `changeOrigin: true`) does this: keep the Host on the proxy's \
         WebSocket path, or allow the origin in the handler's `fn options`: \
         `Options::default().allowed_origins(AllowedOrigins::list([\"{origin}\"]))`"
    )
}

/// A WebSocket route's handler, options and peers, built on its first request.
struct Endpoint<T> {
    handler: Arc<T>,
    options: Arc<Options>,
    peers: Arc<PeerSet>,
    /// For routers assembled by hand without a hub layer.
    own_hub: Hub,
}

impl<T: WebSocketHandler> Endpoint<T> {
    fn new(handler: T) -> Self {
        let options = Arc::new(handler.options());
        Endpoint {
            handler: Arc::new(handler),
            options,
            peers: Arc::default(),
            own_hub: Hub::own(),
        }
    }

    async fn upgrade(&self, request: Request) -> Response {
        let (mut parts, _body) = request.into_parts();
        // The peer keeps its upgrade's headers for as long as it is connected: bound them.
        let header_bytes = header_bytes(&parts.headers);
        if header_bytes > self.options.max_request_headers {
            tracing::debug!(
                header_bytes,
                limit = self.options.max_request_headers,
                "nitrous: refused a WebSocket upgrade with too many header bytes"
            );
            let message = format!(
                "the upgrade request's headers are {header_bytes} bytes, over this route's limit of {}",
                self.options.max_request_headers
            );
            telemetry::upgrade("headers");
            return (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message).into_response();
        }
        // HTTP/2 names the host in the `:authority` of the URI rather than a `Host` header.
        let host = match parts.headers.get(header::HOST) {
            Some(host) => host.to_str().ok(),
            None => parts.uri.authority().map(|authority| authority.as_str()),
        };
        // An `Origin` that is not one readable value fails the check (it is never taken as absent).
        let mut origins = parts.headers.get_all(header::ORIGIN).iter();
        let origin = match (origins.next(), origins.next()) {
            (None, _) => Ok(None),
            (Some(origin), None) => origin.to_str().map(Some).map_err(|_| ()),
            (Some(_), Some(_)) => Err(()),
        };
        let allowed = origin.is_ok_and(|origin| self.options.origins.allows(origin, host));
        if !allowed {
            let origin = match origin {
                Ok(origin) => origin.unwrap_or_default().to_owned(),
                Err(()) => "(unreadable or repeated)".to_owned(),
            };
            let host = host.unwrap_or("(none)");
            let message = origin_refusal(&origin, host);
            tracing::warn!(%origin, %host, "nitrous: {message}");
            telemetry::upgrade("origin");
            return (StatusCode::FORBIDDEN, message).into_response();
        }
        let handshake = match upgrade::handshake(&mut parts) {
            Ok(handshake) => handshake,
            Err(refusal) => {
                telemetry::upgrade("handshake");
                return refusal.into_response();
            }
        };
        let params = match RawPathParams::from_request_parts(&mut parts, &()).await {
            Ok(params) => params
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let remote = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        // Only the session's span needs it; `MatchedPath` is a shared string, no copy.
        let route = match parts.extensions.get::<MatchedPath>() {
            Some(path) => Route::Matched(path.clone()),
            None => Route::Path(Arc::from(parts.uri.path())),
        };
        let hub = parts
            .extensions
            .get::<Hub>()
            .cloned()
            .unwrap_or_else(|| self.own_hub.clone());
        let shutdown = parts.extensions.get::<Shutdown>().cloned();
        if let Some(shutdown) = &shutdown {
            shutdown.register(&self.peers);
        }
        let request = UpgradeRequest {
            parts,
            params,
            remote,
        };

        let decision = AssertUnwindSafe(self.handler.upgrade(&request))
            .catch_unwind()
            .await;
        let accepted = match decision {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(refusal)) => {
                telemetry::upgrade("refused");
                return refusal.into_response();
            }
            Err(_) => {
                tracing::error!(route = %route, "nitrous: the `upgrade` hook panicked; answering 500");
                telemetry::upgrade("panic");
                telemetry::hook_panicked("upgrade");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let protocol = match accepted.protocol.as_deref().map(HeaderValue::from_str) {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => {
                let protocol = accepted.protocol.unwrap_or_default();
                tracing::error!(%protocol, "nitrous: the `upgrade` hook chose a subprotocol that is not a header value");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let options = self.options.clone();
        let peer = Peer::new(PeerParts {
            remote: request.remote,
            // A copy that owns its bytes: hyper's header values are slices of the connection's
            // 16 KiB read buffer, which the originals would keep alive for the peer's life.
            headers: RequestHeaders::new(&request.parts.headers),
            params: request.params,
            context: accepted.context,
            max_buffered: options.max_buffered,
            hub,
            peers: self.peers.clone(),
            namespace: options.namespace.clone(),
        });
        telemetry::upgrade("accepted");
        let (mut response, handoff) = handshake.accept(protocol);
        response.headers_mut().extend(accepted.headers);
        let http = request.parts.version;
        let start = Start {
            handler: self.handler.clone(),
            peer,
            options,
            shutdown,
            route,
            http,
        };
        handoff.start(move |stream, early| start.session(stream, early));
        response
    }
}

/// How many bytes `headers` take as a request head (`name: value` and a line end each).
fn header_bytes(headers: &axum::http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// A session waiting for its connection.
struct Start<T> {
    handler: Arc<T>,
    peer: Peer,
    options: Arc<Options>,
    shutdown: Option<Shutdown>,
    route: Route,
    /// The HTTP the handshake came over (HTTP/2 is an extended CONNECT), for the session's span.
    http: Version,
}

impl<T: WebSocketHandler> Start<T> {
    /// The session, over the connection the handshake was answered on; `early` is what the client
    /// sent after the handshake that was read with it.
    fn session(self, stream: Stream, early: Vec<u8>) -> impl Future<Output = ()> + Send + use<T> {
        let Start {
            handler,
            peer,
            options,
            shutdown,
            route,
            http,
        } = self;
        let limits = Limits {
            max_message: options.max_message_size,
            write_buffer: options.write_buffer_size,
        };
        let socket = Socket::new(stream, limits, early);
        peer.shared
            .peers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer.id(), peer.clone());
        session::run(socket, handler, peer, options, shutdown, &route, http)
    }
}

/// The route a session's span names.
enum Route {
    Matched(MatchedPath),
    Path(Arc<str>),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Route::Matched(path) => path.as_str(),
            Route::Path(path) => path,
        })
    }
}

type Cell<T> = Arc<OnceLock<Arc<Endpoint<T>>>>;

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
    let cell: Cell<T> = Arc::default();
    on(
        HANDSHAKE,
        move |State(state): State<S>, request: Request| {
            let endpoint = endpoint(&cell, build, &state);
            async move { endpoint.upgrade(request).await }
        },
    )
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
        route_or(self.0, http)
    }

    fn skip(self) -> MethodRouter<S> {
        route(self.0)
    }
}

/// [`route`], with `http` answering GET requests that are not upgrades.
fn route_or<S, T, H, X>(build: fn(&S) -> T, http: H) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    T: WebSocketHandler,
    H: Handler<X, S>,
    X: 'static,
{
    let cell: Cell<T> = Arc::default();
    on(
        HANDSHAKE,
        move |State(state): State<S>, request: Request| {
            let endpoint = endpoint(&cell, build, &state);
            let http = http.clone();
            async move {
                if request.method() == Method::CONNECT
                    || upgrade::asks_for_websocket(request.headers())
                {
                    endpoint.upgrade(request).await
                } else {
                    http.call(request, state).await
                }
            }
        },
    )
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
