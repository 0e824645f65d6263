//! What `#[nitrous::sse]` functions take and return.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use super::{Event, EventStream};
use crate::shutdown::Shutdown;

/// What a reconnecting client saw last: its `Last-Event-ID` header, or, since a browser's first
/// `EventSource` connection cannot set headers, a `lastEventID` query parameter (as Mercure
/// reads it: `new EventSource("/api/news?lastEventID=" + saved)`). The header wins when both are
/// there. Hand it to [`EventStream::subscribe_from`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

/// The query parameter [`LastEventId`] reads.
pub const LAST_EVENT_ID_PARAM: &str = "lastEventID";

impl LastEventId {
    /// The id, if the client sent one.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let query = || {
            parts.uri.query()?.split('&').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name == LAST_EVENT_ID_PARAM).then(|| value.to_owned())
            })
        };
        Ok(LastEventId(header.or_else(query)))
    }
}

/// What a `#[nitrous::sse]` function may return: an [`EventStream`], or any `Stream` of
/// [`Event`]s.
pub trait IntoEventStream {
    /// The stream to serve.
    fn into_event_stream(self) -> EventStream;
}

impl IntoEventStream for EventStream {
    fn into_event_stream(self) -> EventStream {
        self
    }
}

impl<S> IntoEventStream for S
where
    S: Stream<Item = Event> + Send + 'static,
{
    fn into_event_stream(self) -> EventStream {
        let stream = EventStream::new();
        let tx = stream.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(self);
            loop {
                tokio::select! {
                    event = events.next() => match event {
                        Some(event) => if tx.push(event).await.is_err() { break },
                        None => { tx.close(); break }
                    },
                    () = tx.closed() => break,
                }
            }
        });
        stream
    }
}

/// Where the `#[nitrous::sse]` wrapper learns that the server is shutting down (through
/// `__private`): the server's shutdown, if `nitrous::serve` runs the router.
#[derive(Debug)]
pub struct OnShutdown(Option<Shutdown>);

impl<S: Send + Sync> FromRequestParts<S> for OnShutdown {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(OnShutdown(parts.extensions.get::<Shutdown>().cloned()))
    }
}

/// The response of a `#[nitrous::sse]` function (through `__private`): its stream, ended when the
/// server shuts down.
pub fn respond<T: IntoEventStream>(value: T, shutdown: OnShutdown) -> Response {
    value
        .into_event_stream()
        .with_shutdown(shutdown.0)
        .into_response()
}
