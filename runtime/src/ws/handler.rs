//! The [`WebSocketHandler`] trait and what its `upgrade` hook sees and returns.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;

use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::{Close, Message, Options, Peer};
use crate::offset::Offset;
use crate::payload::Payload;

/// A WebSocket route's hooks, crossws-style. `impl WebSocketHandler for T` in a route file makes
/// that file's route a WebSocket endpoint; every hook is optional.
///
/// Hooks of one peer run in order, one at a time: `upgrade`, `open`, then `message` per message
/// in arrival order, then `close`. When `open`, `message`, `topic` or `topic_gap` panics, the
/// peer is closed with 1011 and `error` is called; the server carries on. A panic in `close` or
/// in `error` itself is logged (at error level) and goes no further: `error` is not called for
/// it. `close` always runs once, with the code and reason (1006 when the client vanished
/// without a close frame).
///
/// The value is built once per router: `#[derive(Default)]` for a stateless handler, or
/// `impl axum::extract::FromRef<AppState> for T` to build it from the router state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WebSocket handler",
    label = "write `impl nitrous::ws::WebSocketHandler for {Self}`",
    note = "every hook is optional: `impl WebSocketHandler for {Self} {{}}` compiles"
)]
pub trait WebSocketHandler: Send + Sync + 'static {
    /// The route's limits and policies; read once, when the handler is built.
    fn options(&self) -> Options {
        Options::default()
    }

    /// Decides on the upgrade request. `Err` refuses it with any axum response (`?` converts
    /// one: a `StatusCode`, `(StatusCode, &str)`, an extractor's rejection); `Ok` accepts,
    /// optionally with response headers, a subprotocol and a per-peer context. axum layers (auth,
    /// tracing) have run before it.
    ///
    /// ```
    /// use nitrous::axum::http::StatusCode;
    /// use nitrous::ws::{Refusal, Upgrade, UpgradeRequest, WebSocketHandler};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Join {
    ///     token: String,
    /// }
    ///
    /// # #[derive(Default)]
    /// pub struct Room;
    ///
    /// impl WebSocketHandler for Room {
    ///     async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
    ///         // `?` answers 400 with the rejection when the query does not parse.
    ///         let join: Join = request.query()?;
    ///         if join.token != "secret" {
    ///             return Err((StatusCode::UNAUTHORIZED, "bad token").into());
    ///         }
    ///         Ok(Upgrade::accept())
    ///     }
    /// }
    /// ```
    fn upgrade(
        &self,
        request: &UpgradeRequest,
    ) -> impl Future<Output = Result<Upgrade, Refusal>> + Send {
        let _ = request;
        async { Ok(Upgrade::accept()) }
    }

    /// The connection is open.
    fn open(&self, peer: &Peer) -> impl Future<Output = ()> + Send {
        let _ = peer;
        async {}
    }

    /// A message arrived.
    fn message(&self, peer: &Peer, message: Message) -> impl Future<Output = ()> + Send {
        let _ = (peer, message);
        async {}
    }

    /// The connection closed; `close` says how. The last hook: a panic in it is logged.
    fn close(&self, peer: &Peer, close: Close) -> impl Future<Output = ()> + Send {
        let _ = (peer, close);
        async {}
    }

    /// A hook failed or the connection broke; `close` follows. A panic in it is logged, not
    /// reported to it again.
    fn error(&self, peer: &Peer, error: Error) -> impl Future<Output = ()> + Send {
        let _ = (peer, error);
        async {}
    }

    /// What the peer is sent for a message of a topic it subscribes to: by default the payload
    /// as it was published; `None` sends nothing (the peer's own earlier messages, replayed after
    /// it reconnected, say). Called as the message goes out, on the peer's task: keep it quick.
    ///
    /// A page that resumes after a reconnect needs each message's [`Offset`]:
    ///
    /// ```
    /// # use nitrous::ws::{Peer, TopicMessage, WebSocketHandler};
    /// # struct Chat;
    /// impl WebSocketHandler for Chat {
    ///     fn topic(&self, _peer: &Peer, message: TopicMessage<'_>) -> Option<nitrous::Payload> {
    ///         let offset = message.offset().map(|o| o.to_string());
    ///         let body: serde_json::Value = serde_json::from_str(&message.text()).ok()?;
    ///         Some(nitrous::Payload::text(serde_json::json!({ "offset": offset, "body": body }).to_string()))
    ///     }
    /// }
    /// ```
    fn topic(&self, peer: &Peer, message: TopicMessage<'_>) -> Option<Payload> {
        let _ = peer;
        Some(message.payload().clone())
    }

    /// The peer resumed a topic ([`Peer::subscribe_from`]) further back than the topic keeps (or
    /// from an offset that is not the topic's: an earlier process's): what it missed is gone.
    /// What to tell the page, which should reload what it shows; `None` sends nothing. By
    /// default the page is told, before what is replayed, with [`TopicGap::default_frame`]: a
    /// text frame `{"type":"nitrous-replay-gap","topic":..,"after":..,"resumed_at":..}`, offsets
    /// as strings (`null` when the client's was not one, or when nothing is replayed): the data
    /// of the event an event stream gets, named the same.
    fn topic_gap(&self, peer: &Peer, gap: TopicGap<'_>) -> Option<Payload> {
        let _ = peer;
        Some(gap.default_frame())
    }
}

/// A message of one of the peer's topics, on its way to the peer ([`WebSocketHandler::topic`]).
#[derive(Clone, Copy, Debug)]
pub struct TopicMessage<'a> {
    pub(crate) topic: &'a str,
    pub(crate) offset: Option<Offset>,
    pub(crate) event: Option<&'a str>,
    pub(crate) payload: &'a Payload,
    pub(crate) framed: &'a crate::hub::Framed,
}

impl<'a> TopicMessage<'a> {
    /// The topic (as the peer names it: without the route's namespace).
    pub fn topic(&self) -> &'a str {
        crate::topic_name::visible(self.topic)
    }

    /// A join or leave on a tracked topic ([`Hub::track_presence`](crate::Hub::track_presence)),
    /// read from the message; `None` for the topic's other messages. By default the peer is sent
    /// it as its JSON text; a handler can send its own frame instead.
    ///
    /// ```
    /// # use nitrous::ws::{Peer, TopicMessage, WebSocketHandler};
    /// # struct Room;
    /// impl WebSocketHandler for Room {
    ///     fn topic(&self, _peer: &Peer, message: TopicMessage<'_>) -> Option<nitrous::Payload> {
    ///         match message.presence() {
    ///             Some(event) => Some(nitrous::Payload::text(format!("{:?} {}", event.event, event.member))),
    ///             None => Some(message.payload().clone()),
    ///         }
    ///     }
    /// }
    /// ```
    pub fn presence(&self) -> Option<crate::presence::PresenceEvent> {
        if self.event != Some(crate::presence::PRESENCE_EVENT) {
            return None;
        }
        crate::presence::PresenceEvent::parse(&self.text())
    }

    /// Where the message is in its retained topic: what the page hands back to resume after it.
    /// `None` for a topic that is not retained.
    pub fn offset(&self) -> Option<Offset> {
        self.offset
    }

    /// The event name the publish gave it ([`Hub::publish_event`](crate::Hub::publish_event)).
    pub fn event(&self) -> Option<&'a str> {
        self.event
    }

    /// The payload as it was published.
    pub fn payload(&self) -> &'a Payload {
        self.payload
    }

    /// The payload as text (bytes decoded lossily).
    pub fn text(&self) -> Cow<'a, str> {
        self.payload.to_text_lossy()
    }

    /// The frame `make` builds for this message, made once for all the peers of handlers of kind
    /// `K` (a channel's topic frame is the same for every subscriber) and shared after that.
    // Inlined: it runs once per delivery, and all but the first call are a load and a clone.
    #[inline]
    pub(crate) fn framed_once<K: 'static>(&self, make: impl FnOnce() -> Payload) -> Payload {
        let key = std::any::TypeId::of::<K>();
        if let Some((kind, frame)) = self.framed.get() {
            // Another kind of handler framed it first: this one makes its own each time.
            return if *kind == key { frame.clone() } else { make() };
        }
        let frame = make();
        // A writer that framed it at the same moment wins; both frames are the same.
        let _ = self.framed.set((key, frame.clone()));
        frame
    }
}

/// A resume that could not be served whole ([`WebSocketHandler::topic_gap`]).
#[derive(Clone, Copy, Debug)]
pub struct TopicGap<'a> {
    pub(crate) topic: &'a str,
    pub(crate) after: Option<Offset>,
    pub(crate) resumed_at: Option<Offset>,
}

impl<'a> TopicGap<'a> {
    /// The topic (as the peer names it: without the route's namespace).
    pub fn topic(&self) -> &'a str {
        crate::topic_name::visible(self.topic)
    }

    /// What a page is told by default ([`WebSocketHandler::topic_gap`]): the text frame
    /// `{"type":"nitrous-replay-gap","topic":..,"after":..,"resumed_at":..}`.
    pub fn default_frame(&self) -> Payload {
        let frame = serde_json::json!({
            "type": crate::sse::REPLAY_GAP_EVENT,
            "topic": self.topic(),
            "after": self.after.map(|o| o.to_string()),
            "resumed_at": self.resumed_at.map(|o| o.to_string()),
        });
        Payload::text(frame.to_string())
    }

    /// What the peer said it saw last; `None` when that was not an offset.
    pub fn after(&self) -> Option<Offset> {
        self.after
    }

    /// The first message it gets now; `None` when it gets only what is published from now on.
    pub fn resumed_at(&self) -> Option<Offset> {
        self.resumed_at
    }
}

/// The upgrade request, as the `upgrade` hook sees it.
#[derive(Debug)]
pub struct UpgradeRequest {
    pub(crate) parts: Parts,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) remote: Option<SocketAddr>,
}

impl UpgradeRequest {
    /// The request's method: GET for a handshake over HTTP/1.1, CONNECT over HTTP/2 (RFC 8441).
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The HTTP the handshake came over: HTTP/1.1 (an upgrade) or HTTP/2 (a stream of a
    /// connection the client shares with its other requests).
    pub fn version(&self) -> Version {
        self.parts.version
    }

    /// The request's URI: path and query.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The query string, deserialized as `axum::extract::Query` does (`?room=1&token=x` into a
    /// `#[derive(Deserialize)]` struct); its rejection answers 400 when returned with `?`.
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, QueryRejection> {
        axum::extract::Query::try_from_uri(&self.parts.uri).map(|q| q.0)
    }

    /// Runs an axum extractor on the request (a typed header, a cookie jar, `Query`, one of your
    /// own); its rejection refuses the upgrade when returned with `?`. For an extractor that
    /// needs the app's state, use [`UpgradeRequest::extract_with_state`].
    pub async fn extract<E: FromRequestParts<()>>(&self) -> Result<E, E::Rejection> {
        self.extract_with_state(&()).await
    }

    /// [`UpgradeRequest::extract`] for an extractor that needs the app's state. A handler built
    /// from the state (`impl FromRef<AppState> for Chat`) keeps what it needs to pass here.
    pub async fn extract_with_state<E: FromRequestParts<S>, S: Send + Sync>(
        &self,
        state: &S,
    ) -> Result<E, E::Rejection> {
        let mut parts = self.parts.clone();
        E::from_request_parts(&mut parts, state).await
    }

    /// The route params in path order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// One route param by name: `request.param("room")` in `ws/[room].rs`. The route guarantees
    /// it, and `routes!` rejects a name the file's path does not have.
    ///
    /// # Panics
    ///
    /// When the route has no param `name` (a router assembled by hand, or a name computed at run
    /// time); [`UpgradeRequest::params`] lists them. A panic in `upgrade` answers 500.
    pub fn param(&self, name: &str) -> &str {
        super::peer::param(&self.params, name)
    }

    /// The client's address, when served by `nitrous::serve`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.parts
            .headers
            .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

/// A refused upgrade: any axum response, made with `.into()` or by `?` from anything that
/// implements `IntoResponse` (`StatusCode::UNAUTHORIZED`, `(StatusCode::FORBIDDEN, "no")`, an
/// extractor's rejection, a `Response`).
pub struct Refusal(Response);

impl Refusal {
    /// A refusal with this response.
    pub fn new(response: impl IntoResponse) -> Refusal {
        Refusal(response.into_response())
    }

    /// The response the client gets.
    pub fn into_response(self) -> Response {
        self.0
    }
}

impl<T: IntoResponse> From<T> for Refusal {
    fn from(response: T) -> Refusal {
        Refusal::new(response)
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Refusal").field(&self.0.status()).finish()
    }
}

/// An accepted upgrade: `Upgrade::accept()`, then optionally a subprotocol, headers and context.
#[derive(Default)]
pub struct Upgrade {
    pub(crate) protocol: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) context: Option<Box<dyn Any + Send + Sync>>,
}

impl Upgrade {
    /// Accepts the upgrade, with no subprotocol, extra headers or context until they are added.
    pub fn accept() -> Upgrade {
        Upgrade::default()
    }

    /// Answers with this subprotocol; it should be one the client offered
    /// ([`UpgradeRequest::protocols`]), or the client will fail the connection.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Upgrade {
        self.protocol = Some(protocol.into());
        self
    }

    /// Adds a header to the `101 Switching Protocols` response.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Upgrade {
        self.headers.append(name, value);
        self
    }

    /// Attaches a per-peer value, read in later hooks by its type with [`Peer::context`], as
    /// axum's `Extension<T>` is.
    ///
    /// ```
    /// use nitrous::ws::{Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};
    ///
    /// pub struct User {
    ///     name: String,
    /// }
    ///
    /// #[derive(Default)]
    /// pub struct Lists;
    ///
    /// impl WebSocketHandler for Lists {
    ///     async fn upgrade(&self, _request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
    ///         Ok(Upgrade::accept().context(User { name: "ada".into() }))
    ///     }
    ///
    ///     async fn open(&self, peer: &Peer) {
    ///         if let Some(user) = peer.context::<User>() {
    ///             peer.send(format!("hello {}", user.name));
    ///         }
    ///     }
    /// }
    /// ```
    pub fn context<T: Any + Send + Sync>(mut self, context: T) -> Upgrade {
        self.context = Some(Box::new(context));
        self
    }
}

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade")
            .field("protocol", &self.protocol)
            .field("headers", &self.headers)
            .field("context", &self.context.is_some())
            .finish()
    }
}

/// What went wrong with a peer; the `error` hook gets it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A hook panicked (the peer is closed with 1011); the message is the panic's.
    HookPanicked {
        /// Which hook: `open`, `message`, `topic` or `topic_gap`.
        hook: &'static str,
        /// The panic's message.
        message: String,
    },
    /// A text frame was not UTF-8 (the peer is closed with 1007).
    InvalidUtf8,
    /// A message was over the limit (the peer is closed with 1009).
    MessageTooBig {
        /// The message's size in bytes.
        size: usize,
        /// The route's limit ([`Options::max_message_size`](super::Options::max_message_size)).
        max: usize,
    },
    /// The peer broke the WebSocket protocol (closed with 1002).
    Protocol(String),
    /// Reading or writing the socket failed.
    Io(String),
    /// The peer did not answer pings (terminated).
    HeartbeatTimeout,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HookPanicked { hook, message } => {
                write!(f, "the `{hook}` hook panicked: {message}")
            }
            Error::InvalidUtf8 => f.write_str("a text frame was not valid UTF-8"),
            Error::MessageTooBig { size, max } => {
                write!(f, "a message of {size} bytes is over the limit of {max}")
            }
            Error::Protocol(e) => write!(f, "WebSocket protocol error: {e}"),
            Error::Io(e) => write!(f, "socket error: {e}"),
            Error::HeartbeatTimeout => f.write_str("the peer did not answer pings in time"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A hook's panic, with the panic's message when it has one (a `&str` or a `String`).
    pub(crate) fn hook_panicked(hook: &'static str, panic: &(dyn std::any::Any + Send)) -> Error {
        crate::telemetry::hook_panicked(hook);
        let message = if let Some(s) = panic.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = panic.downcast_ref::<String>() {
            s.clone()
        } else {
            "(a non-string panic payload)".to_owned()
        };
        Error::HookPanicked { hook, message }
    }
}
