//! The I/O under tungstenite: reads that take what is waiting at once, a bound on what a client
//! that floods pings costs, and giving back the buffers a large message grew ([`shrink`]).

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::FutureExt;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::Role;

use super::framing::Framing;

/// A session's connection.
pub(crate) type Socket = WebSocketStream<Conn<TokioIo<Upgraded>>>;

/// How much one read from the socket may take at once.
const SCRATCH: usize = 64 << 10;

thread_local! {
    /// One read buffer per thread, shared by every connection it serves: a connection's own
    /// buffer stays small (its idle cost), yet a large message arrives in few reads.
    static SCRATCH_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// The I/O under tungstenite: when a read fills tungstenite's buffer, the rest waiting on the
/// socket is read at once through the thread's scratch buffer, and only the bytes tungstenite has
/// no room for yet are kept per connection (and let go once it takes them).
///
/// tungstenite reads at most its read buffer's size per call (nitrous keeps that buffer small:
/// it is held by every idle connection); without this, a 16 KiB message would take many reads
/// from the socket instead of two.
///
/// It also bounds what a ping costs: tungstenite answers every ping with a pong in its write
/// buffer, which has no limit. Once a pong is owed and the socket refuses writes (the client does
/// not read), nothing more is read from that client until a write goes through, so a client that
/// floods pings and never reads their pongs is simply not read (and meets the heartbeat timeout),
/// while what the server holds for it stays at about one read buffer's worth of pongs. The write
/// that was refused registered the task for writability, so reading resumes as soon as the
/// client takes its bytes. (Data replies it does not read are bounded by the outbound queue.)
///
/// And it follows the frames it hands over ([`Framing`]) and the largest write, so that the
/// session knows when tungstenite's buffers grew and may be given back ([`shrink`]).
#[derive(Debug)]
pub(crate) struct Conn<S> {
    /// `None` only once [`shrink`] moved the connection on, in the context it left.
    inner: Option<S>,
    /// Read from the socket, not yet handed to tungstenite; empty (no allocation) when caught up.
    spill: Vec<u8>,
    /// How much of `spill` was handed over.
    taken: usize,
    /// The socket's last write was refused.
    write_blocked: bool,
    /// A ping was read and its pong may not have gone out yet.
    pong_owed: bool,
    /// The frames handed to tungstenite.
    framing: Framing,
    /// The largest write tungstenite asked for (its write buffer holds at least that much).
    largest_write: usize,
}

impl<S> Conn<S> {
    pub(crate) fn new(inner: S) -> Conn<S> {
        Conn::with(Some(inner))
    }

    fn with(inner: Option<S>) -> Conn<S> {
        Conn {
            inner,
            spill: Vec::new(),
            taken: 0,
            write_blocked: false,
            pong_owed: false,
            framing: Framing::default(),
            largest_write: 0,
        }
    }

    /// The socket, unless [`shrink`] moved it on (then this context is about to be dropped).
    fn inner(&mut self) -> io::Result<Pin<&mut S>>
    where
        S: Unpin,
    {
        match &mut self.inner {
            Some(inner) => Ok(Pin::new(inner)),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection moved to a new tungstenite context",
            )),
        }
    }

    /// A ping was read: tungstenite writes its pong before it reads on; while that write is
    /// refused, reading waits.
    pub(crate) fn owe_pong(&mut self) {
        self.pong_owed = true;
    }

    fn wrote(&mut self, asked: usize, result: &Poll<io::Result<usize>>) {
        self.largest_write = self.largest_write.max(asked);
        match result {
            Poll::Pending => self.write_blocked = true,
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.write_blocked = false;
                self.pong_owed = false;
            }
            Poll::Ready(_) => {}
        }
    }
}

/// How many times its configured size a frame read must be to have grown tungstenite's read buffer
/// enough to give back.
const READ_GROWN: usize = 4;

/// How many times its configured size a write must be to have grown tungstenite's write buffer
/// enough to give back (a burst of small messages fills it to about its size).
const WRITE_GROWN: usize = 2;

/// Gives back what tungstenite's buffers grew to for a large frame or a large batch, once the
/// connection is quiet. tungstenite keeps its read buffer at the largest frame it read and its
/// write buffer at the largest batch it wrote, for the connection's life: one 64 KiB message to
/// a room of 10,000 would leave over a gigabyte behind.
///
/// Called when a read found nothing waiting and everything written was flushed. If tungstenite
/// then holds nothing of the client's (no partial frame, no fragmented message:
/// [`Framing::at_rest`]) and nothing of the server's (no refused write, no pong owed), it holds
/// only its buffers and its settings, and the connection goes on in a new context with buffers of
/// the configured sizes; the old one is dropped. Returns whether it did.
pub(crate) fn shrink(socket: &mut Socket) -> bool {
    let config = *socket.get_config();
    let conn = socket.get_mut();
    let grown = conn.framing.largest() > (READ_GROWN * config.read_buffer_size) as u64
        || conn.largest_write > WRITE_GROWN * config.write_buffer_size;
    if !grown || !conn.framing.at_rest() || conn.write_blocked || conn.pong_owed {
        return false;
    }
    let mut moved = std::mem::replace(conn, Conn::with(None));
    moved.framing.forget_largest();
    moved.largest_write = 0;
    *socket = WebSocketStream::from_raw_socket(moved, Role::Server, Some(config))
        .now_or_never()
        .expect("a context over a raw socket is made at once");
    true
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pong_owed && this.write_blocked {
            // The refused write wakes the task (tokio-tungstenite's write waker wakes its reader
            // too), and tungstenite retries it before it reads again.
            return Poll::Pending;
        }
        let before = buf.filled().len();
        ready!(this.poll_take(cx, buf))?;
        this.framing.saw(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> Conn<S> {
    /// What is kept from the last read, or a read from the socket.
    fn poll_take(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.taken < self.spill.len() {
            let rest = &self.spill[self.taken..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.taken += n;
            if self.taken == self.spill.len() {
                self.spill = Vec::new();
                self.taken = 0;
            }
            return Poll::Ready(Ok(()));
        }
        // Straight into tungstenite's buffer first: a message that fits costs no copy.
        let before = buf.filled().len();
        ready!(self.inner()?.poll_read(cx, buf))?;
        if buf.remaining() > 0 || buf.filled().len() == before {
            return Poll::Ready(Ok(())); // all there was, or the end of the stream
        }
        // The buffer is full and more may be waiting: take it in one read, through the thread's
        // scratch buffer, and keep what does not fit for the next calls.
        SCRATCH_BUFFER.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return; // not reentrant in practice; the next call reads on
            };
            let mut more = ReadBuf::new(&mut scratch[..]);
            let Ok(inner) = self.inner() else { return };
            // Pending (nothing more yet) leaves the task registered for readiness: harmless.
            if let Poll::Ready(Ok(())) = inner.poll_read(cx, &mut more) {
                self.spill = more.filled().to_vec();
            }
        });
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.inner()?.poll_write(cx, buf);
        this.wrote(buf.len(), &result);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.inner()?.poll_write_vectored(cx, bufs);
        let asked = bufs.iter().map(|buf| buf.len()).sum();
        this.wrote(asked, &result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(S::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner()?.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_get_every_byte_in_order_and_keep_nothing_after() {
        let (mut client, server) = tokio::io::duplex(256 << 10);
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&sent).await.unwrap();
        drop(client);

        let mut conn = Conn::new(server);
        let mut got = Vec::new();
        let mut chunk = [0u8; 1000];
        loop {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "bytes reordered or changed");
        assert_eq!(conn.spill.capacity(), 0, "caught up: nothing kept");
    }
}
