//! Timeouts for a client that stops midway: one that does not read what the server writes
//! ([`WriteStall`], around the connection), and one that stops sending a request body
//! ([`BodyStall`], around each request's body). Each timer starts when the wait does and is
//! disarmed by progress, so a slow but steady client is never cut; it is allocated on the
//! first wait, so an idle connection pays for none.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A timer for one kind of wait, armed when the wait starts.
#[derive(Debug)]
struct Stall {
    limit: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Stall {
    fn new(limit: Duration) -> Stall {
        Stall {
            limit,
            timer: None,
            armed: false,
        }
    }

    /// The wait goes on: whether it has lasted `limit` (the task is woken when it has).
    fn waited_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = Instant::now() + self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            timer.as_mut().reset(deadline);
            self.armed = true;
        }
        timer.as_mut().poll(cx).is_ready()
    }

    /// The wait is over.
    fn progress(&mut self) {
        self.armed = false;
    }
}

pin_project_lite::pin_project! {
    /// A connection whose writes fail with `TimedOut` once the client has taken none of the
    /// server's bytes for the limit (its socket buffer stayed full). WebSocket connections keep it
    /// after the upgrade.
    #[derive(Debug)]
    pub(crate) struct WriteStall<S> {
        #[pin]
        inner: S,
        stall: Option<Stall>,
    }
}

impl<S> WriteStall<S> {
    pub(crate) fn new(inner: S, limit: Option<Duration>) -> Self {
        WriteStall {
            inner,
            stall: limit.map(Stall::new),
        }
    }

    /// The stream underneath.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// A write's outcome, with the timer: bytes taken are progress; a refusal that has lasted the
/// limit becomes `TimedOut`.
fn check(
    stall: &mut Option<Stall>,
    cx: &mut Context<'_>,
    result: Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    let Some(stall) = stall else {
        return result;
    };
    match result {
        Poll::Ready(Ok(0)) => result,
        Poll::Ready(_) => {
            stall.progress();
            result
        }
        Poll::Pending if stall.waited_too_long(cx) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client has not read for the write timeout",
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl<S: AsyncRead> AsyncRead for WriteStall<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for WriteStall<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write(cx, buf);
        check(this.stall, cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write_vectored(cx, bufs);
        check(this.stall, cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A socket's flush is done at once; only bytes taken by a write are progress.
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// What a request body's reader gets when the client stopped sending it.
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client stopped sending the request body (body timeout)")
    }
}

impl std::error::Error for BodyTimedOut {}

pin_project_lite::pin_project! {
    /// A request body that ends in an error once the client has sent none of it for the limit.
    pub(crate) struct BodyStall<B> {
        #[pin]
        inner: B,
        stall: Stall,
    }
}

impl<B> BodyStall<B> {
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        BodyStall {
            inner,
            stall: Stall::new(limit),
        }
    }
}

impl<B> Body for BodyStall<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall.progress();
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending if this.stall.waited_too_long(cx) => {
                Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
