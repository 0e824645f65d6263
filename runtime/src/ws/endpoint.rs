//! What a WebSocket route does with a handshake request: the limits and origin checks, the
//! `upgrade` hook, and the hand-off to a session. `route.rs` makes it an axum handler.

use std::future::Ready;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::Either;

use super::headers::RequestHeaders;
use super::peer::{PeerParts, PeerSet};
use super::socket::{Limits, Socket};
use super::stream::Stream;
use super::upgrade;
use super::{Options, Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler, session};
use crate::hub::Hub;
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
pub(super) struct Endpoint<T> {
    handler: Arc<T>,
    options: Arc<Options>,
    peers: Arc<PeerSet>,
    /// For routers assembled by hand without a hub layer.
    own_hub: Hub,
}

impl<T: WebSocketHandler> Endpoint<T> {
    pub(super) fn new(handler: T) -> Self {
        let options = Arc::new(handler.options());
        Endpoint {
            handler: Arc::new(handler),
            options,
            peers: Arc::default(),
            own_hub: Hub::own(),
        }
    }

    /// Answers a handshake request: every check that needs no `await` runs here, at once, so that
    /// only the `upgrade` hook and what it reads are held in a future while it runs (boxed, under
    /// glibc's small sizes: this future is allocated once per handshake).
    pub(super) fn upgrade(self: Arc<Self>, request: Request) -> Upgrading {
        match self.checked(request) {
            Ok(checked) => Either::Right(Box::pin(self.decide(checked))),
            Err(refusal) => Either::Left(std::future::ready(refusal)),
        }
    }

    /// The request's limits, origin and handshake, checked; what the hook and the session need.
    // `upgrade` takes the result apart at once, and the checked request is the larger of the two.
    #[allow(clippy::result_large_err)]
    fn checked(&self, request: Request) -> Result<Checked, Response> {
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
            return Err((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message).into_response());
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
            return Err((StatusCode::FORBIDDEN, message).into_response());
        }
        let handshake = match upgrade::handshake(&mut parts) {
            Ok(handshake) => handshake,
            Err(refusal) => {
                telemetry::upgrade("handshake");
                return Err(refusal.into_response());
            }
        };
        // axum reads the parameters from the request's extensions: the future is ready at once.
        let params = match RawPathParams::from_request_parts(&mut parts, &()).now_or_never() {
            Some(Ok(params)) => params
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            _ => Vec::new(),
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
        Ok(Checked {
            request: UpgradeRequest {
                parts,
                params,
                remote,
            },
            handshake,
            route,
            hub,
            shutdown,
        })
    }

    /// Runs the `upgrade` hook on a checked request, and answers as it decides.
    async fn decide(self: Arc<Self>, checked: Checked) -> Response {
        let decision = AssertUnwindSafe(self.handler.upgrade(&checked.request))
            .catch_unwind()
            .await;
        self.answer(checked, decision)
    }

    /// The response to a checked request, as the `upgrade` hook decided; an accepted one starts
    /// the session once the connection is handed over.
    fn answer(&self, checked: Checked, decision: Decision) -> Response {
        let Checked {
            request,
            handshake,
            route,
            hub,
            shutdown,
        } = checked;
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

/// What the `upgrade` hook came to: its answer, or the panic it raised.
type Decision = std::thread::Result<Result<Upgrade, Refusal>>;

/// A WebSocket route's answer to a request: a refusal at once, or the `upgrade` hook running.
pub(super) type Upgrading = Either<Ready<Response>, Pin<Box<dyn Future<Output = Response> + Send>>>;

/// A handshake request that passed the route's checks, with what its session needs.
struct Checked {
    request: UpgradeRequest,
    handshake: upgrade::Handshake,
    route: Route,
    hub: Hub,
    shutdown: Option<Shutdown>,
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
