//! The response that carries an event stream: queued events as one chunk, keep-alive comments,
//! and the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;

use super::stream::{EventStream, Shared};
use crate::shutdown::Shutdown;

/// Closes the stream when the response body is dropped: the client went away. Counted among the
/// open event streams while it lives.
struct CloseOnDrop(Arc<Shared>);

impl CloseOnDrop {
    fn new(shared: Arc<Shared>) -> CloseOnDrop {
        crate::telemetry::meters().event_streams.increment(1.0);
        CloseOnDrop(shared)
    }
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        crate::telemetry::meters().event_streams.decrement(1.0);
        self.0.shut();
    }
}

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        if self.shared.served.swap(true, Ordering::AcqRel) {
            tracing::error!(
                "nitrous: an EventStream was returned twice; it can answer one request"
            );
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this event stream is already being served",
            )
                .into_response();
        };
        let keep_alive = *self
            .shared
            .keep_alive
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let shutdown = self
            .shared
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let body = EventBody::new(CloseOnDrop::new(self.shared.clone()), keep_alive, shutdown);
        let mut response = Body::from_stream(body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}

const KEEP_ALIVE_COMMENT: &[u8] = b":\n\n";

/// The response body: queued events as one chunk, a keep-alive comment when idle, and the end
/// when the stream closes (after what was queued) or the server shuts down.
struct EventBody {
    guard: CloseOnDrop,
    keep_alive: Option<tokio::time::Interval>,
    /// Resolves when the server starts shutting down.
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    ended: bool,
}

impl EventBody {
    fn new(guard: CloseOnDrop, keep_alive: Option<Duration>, shutdown: Option<Shutdown>) -> Self {
        let keep_alive = keep_alive.map(|every| {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        let shutdown = shutdown.map(|mut shutdown| {
            Box::pin(async move { shutdown.started().await })
                as Pin<Box<dyn Future<Output = ()> + Send>>
        });
        EventBody {
            guard,
            keep_alive,
            shutdown,
            ended: false,
        }
    }

    /// Everything queued, as one chunk; the waker is registered when there is nothing.
    fn take_queued(&mut self, cx: &mut Context<'_>) -> Option<Bytes> {
        let shared = &self.guard.0;
        let chunk = {
            let mut queue = shared.lock_queue();
            match queue.take() {
                Some(chunk) => chunk,
                None => {
                    match &queue.reader {
                        Some(known) if known.will_wake(cx.waker()) => {}
                        _ => queue.reader = Some(cx.waker().clone()),
                    }
                    return None;
                }
            }
        };
        shared.room.notify_waiters();
        Some(chunk)
    }
}

impl Stream for EventBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(chunk) = self.take_queued(cx) {
            // Any event resets the keep-alive clock: comments are only for idle streams.
            if let Some(keep_alive) = &mut self.keep_alive {
                keep_alive.reset();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if self.guard.0.closed.load(Ordering::Acquire) {
            // Pushed before the close, and queued after the look above: still sent.
            let last = self.take_queued(cx);
            self.ended = true;
            return Poll::Ready(last.map(Ok));
        }
        if let Some(shutdown) = &mut self.shutdown
            && shutdown.as_mut().poll(cx).is_ready()
        {
            self.ended = true;
            return Poll::Ready(None);
        }
        if let Some(keep_alive) = &mut self.keep_alive
            && keep_alive.poll_tick(cx).is_ready()
        {
            return Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE_COMMENT))));
        }
        Poll::Pending
    }
}
