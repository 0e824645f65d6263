//! The 64-byte echo and the fan-out from raw clients that keep the server busy: the same
//! workloads as [`crate::echo`] and [`crate::fan_out`] (C connections to `/ws/echo`, one message
//! in flight on each; subscribers of `/ws/fan`, or of its typed twin for [`crate::channel`], and a
//! publisher), driven from one thread by `mio` with every frame written beforehand, so the clients
//! spend next to nothing in user space per message.
//!
//! Why they are there: the tokio-tungstenite clients of the main workloads cost more per message
//! than a server does, so on this two-core machine they, not the server, set the pace. The server
//! then waits between messages (in the echo it is busy 50-85% of the time), and how often it
//! sleeps and wakes counts in its CPU per message: a server that answers faster sleeps more often,
//! and every server's figure comes out alike. With these clients a server is busy 90-100% of the
//! time, and its CPU per message is what a message costs it.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream as StdStream;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::channel::Protocol;
use crate::{Cpu, Failure};

/// The payload of every message (less, for a channel, by what [`Protocol::text_len`] says).
const MESSAGE: [u8; 64] = [b'm'; 64];

/// How long the server may go without sending anything before the run counts as stalled.
const STALL: Duration = Duration::from_secs(10);

/// How many messages the fan-out's publisher may be ahead of its slowest subscriber: 66-113 KB
/// behind at most, far below every server's limit for a slow consumer.
const WINDOW: usize = 1000;

/// The most frames the fan-out's publisher writes at once.
const BATCH: usize = 64;

/// What a run cost the server.
pub(crate) struct Saturated {
    /// Messages (echo) or deliveries (fan-out) per second.
    pub(crate) rate: f64,
    /// Server CPU per message or delivery, µs, by the scheduler's accounting.
    pub(crate) cpu_ns: f64,
    /// Of that, user space, µs (in 10 ms ticks).
    pub(crate) user: f64,
    /// Server CPU over the run's wall time, in percent of one CPU.
    pub(crate) busy: f64,
}

/// A run's clock and the server's CPU from its start.
struct Meter {
    pid: u32,
    cpu: Cpu,
    start: Instant,
}

impl Meter {
    fn start(pid: u32) -> Result<Meter, Failure> {
        Ok(Meter {
            pid,
            cpu: Cpu::read(pid)?,
            start: Instant::now(),
        })
    }

    /// What the run cost, `count` messages or deliveries in all.
    fn stop(self, count: usize) -> Result<Saturated, Failure> {
        let elapsed = self.start.elapsed().as_secs_f64();
        let cpu = Cpu::read(self.pid)?.since(self.cpu);
        let count = count as f64;
        Ok(Saturated {
            rate: count / elapsed,
            cpu_ns: cpu.exact / count * 1e6,
            user: cpu.user / count * 1e6,
            busy: cpu.exact / elapsed * 100.0,
        })
    }
}

/// `clients` connections to `/ws/echo` each echo `messages` 64-byte binary messages, one in
/// flight at a time; every echo is checked. Blocking: run it off the async runtime.
pub(crate) fn echo(
    addr: &str,
    pid: u32,
    clients: usize,
    messages: usize,
) -> Result<Saturated, Failure> {
    let (frame, echo) = (masked(0x82, &MESSAGE), unmasked(0x82, &MESSAGE));
    let mut poll = Poll::new().map_err(|e| failed("poll", e))?;
    let mut conns = Vec::with_capacity(clients);
    for i in 0..clients {
        let stream = join(addr, "echo", Protocol::Raw, &[]).map_err(|e| failed("upgrade", e))?;
        conns.push(Reader::new(&poll, stream, i, echo.clone(), messages)?);
    }
    let meter = Meter::start(pid)?;
    for conn in &mut conns {
        conn.stream
            .write_all(&frame)
            .map_err(|e| failed("write", e))?;
    }
    let mut events = Events::with_capacity(clients.max(1));
    let mut buffer = vec![0u8; 64 << 10];
    let mut running = clients;
    while running > 0 {
        wait(&mut poll, &mut events, STALL)?;
        for event in &events {
            let conn = &mut conns[event.token().0];
            // The next message goes as soon as its echo is whole: 70 bytes into a socket with
            // nothing else in flight.
            let read = conn.read(&mut buffer, |stream| stream.write_all(&frame));
            if read.map_err(|e| failed("echo", e))? {
                running -= 1;
            }
        }
    }
    meter.stop(clients * messages)
}

/// `subscribers` peers of `/ws/fan` or (a channel) `/ws/typed_fan`, each past its `ready`, and a
/// publisher, which sends `messages` texts of 64 bytes (a channel's: as [`Protocol::text_len`]
/// says), at most [`WINDOW`] ahead of the slowest subscriber; every delivery is checked.
/// Blocking: run it off the async runtime.
pub(crate) fn fan_out(
    addr: &str,
    pid: u32,
    subscribers: usize,
    messages: usize,
    protocol: Protocol,
) -> Result<Saturated, Failure> {
    let wire = Wire::of(protocol);
    let mut poll = Poll::new().map_err(|e| failed("poll", e))?;
    let mut conns = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let stream = join(addr, "fan", protocol, &wire.ready).map_err(|e| failed("join", e))?;
        conns.push(Reader::new(
            &poll,
            stream,
            i,
            wire.delivery.clone(),
            messages,
        )?);
    }
    // Blocking, and never read: every server leaves a publisher out of its own fan-out.
    let mut publisher = join(addr, "fan", protocol, &wire.ready).map_err(|e| failed("join", e))?;
    publisher
        .set_nonblocking(false)
        .and_then(|()| publisher.set_write_timeout(Some(STALL)))
        .map_err(|e| failed("publisher", e))?;
    // Up to `BATCH` frames a write, as a busy publisher batches them.
    let (batch, frame_len) = (wire.publish.repeat(BATCH), wire.publish.len());
    let meter = Meter::start(pid)?;
    let mut events = Events::with_capacity(subscribers.max(1));
    let mut buffer = vec![0u8; 256 << 10];
    let (mut sent, mut running) = (0, subscribers);
    while running > 0 {
        let slowest = conns
            .iter()
            .map(|c| messages - c.left)
            .min()
            .unwrap_or(messages);
        let allowed = (slowest + WINDOW).min(messages);
        let count = (allowed - sent).min(BATCH);
        if count > 0 {
            publisher
                .write_all(&batch[..count * frame_len])
                .map_err(|e| failed("publish", e))?;
            sent += count;
        }
        // While the window has room, only look at what has come; otherwise wait for it.
        let timeout = if sent < allowed {
            Duration::ZERO
        } else {
            STALL
        };
        wait(&mut poll, &mut events, timeout)?;
        for event in &events {
            let conn = &mut conns[event.token().0];
            if conn
                .read(&mut buffer, |_| Ok(()))
                .map_err(|e| failed("delivery", e))?
            {
                running -= 1;
            }
        }
    }
    meter.stop(subscribers * messages)
}

fn failed(what: &str, error: std::io::Error) -> Failure {
    Failure::Failed(format!("raw clients: {what}: {error}"))
}

/// Waits up to `timeout` for events; none within [`STALL`] is a failure.
fn wait(poll: &mut Poll, events: &mut Events, timeout: Duration) -> Result<(), Failure> {
    poll.poll(events, Some(timeout))
        .map_err(|e| failed("poll", e))?;
    if events.is_empty() && timeout == STALL {
        return Err(Failure::Failed(format!(
            "raw clients: nothing from the server for {STALL:?}"
        )));
    }
    Ok(())
}

/// A connection that reads the same frame over and over, checking every byte.
struct Reader {
    stream: TcpStream,
    /// The frame every message arrives as.
    expected: Vec<u8>,
    /// How many bytes of the frame in progress have come, each as expected.
    matched: usize,
    /// Frames still to come.
    left: usize,
}

impl Reader {
    fn new(
        poll: &Poll,
        stream: StdStream,
        token: usize,
        expected: Vec<u8>,
        count: usize,
    ) -> Result<Reader, Failure> {
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(token), Interest::READABLE)
            .map_err(|e| failed("register", e))?;
        Ok(Reader {
            stream,
            expected,
            matched: 0,
            left: count,
        })
    }

    /// Reads what has come (mio's readiness is edge-triggered: until the socket is drained) and
    /// calls `whole` after each frame but the last; true once the last has come.
    fn read(
        &mut self,
        buffer: &mut [u8],
        mut whole: impl FnMut(&mut TcpStream) -> std::io::Result<()>,
    ) -> std::io::Result<bool> {
        loop {
            let read = match self.stream.read(buffer) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(read) => read,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            };
            for &byte in &buffer[..read] {
                if self.left == 0 || byte != self.expected[self.matched] {
                    let what = "a byte that is not the expected frame's";
                    return Err(std::io::Error::new(ErrorKind::InvalidData, what));
                }
                self.matched += 1;
                if self.matched == self.expected.len() {
                    self.matched = 0;
                    self.left -= 1;
                    if self.left == 0 {
                        return Ok(true);
                    }
                    whole(&mut self.stream)?;
                }
            }
        }
    }
}

/// The fan-out's frames as `protocol` has them.
struct Wire {
    /// What the route sends a peer once it has joined.
    ready: Vec<u8>,
    /// The publisher's frame.
    publish: Vec<u8>,
    /// What each subscriber gets of it.
    delivery: Vec<u8>,
}

impl Wire {
    fn of(protocol: Protocol) -> Wire {
        let text = std::str::from_utf8(&MESSAGE[..protocol.text_len(MESSAGE.len())])
            .expect("the message is ASCII");
        match protocol {
            Protocol::Raw => Wire {
                ready: unmasked(0x81, b"ready"),
                publish: masked(0x81, text.as_bytes()),
                delivery: unmasked(0x81, text.as_bytes()),
            },
            Protocol::Channel(_) => {
                let data = |text: &str| format!(r#"{{"text":"{text}"}}"#);
                let ready = format!(r#"{{"type":"message","data":{}}}"#, data("ready"));
                let topic = format!(r#"{{"type":"topic","topic":"fan","data":{}}}"#, data(text));
                Wire {
                    ready: unmasked(0x81, ready.as_bytes()),
                    publish: masked(0x81, &protocol.frame(text).into_data()),
                    delivery: unmasked(0x81, topic.as_bytes()),
                }
            }
        }
    }
}

/// A client's frame (`opcode` with FIN) of `payload`, masked with a zero key, so the bytes read
/// as sent.
fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "a frame with a one-byte length");
    let mut frame = vec![opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// A server's frame of `payload`.
fn unmasked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "a frame with a one-byte length");
    let mut frame = vec![opcode, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

/// A connection to the bench route `name` as `protocol` speaks it, past its handshake (for a
/// channel, its `hello` answered by `welcome`) and `first` (what the route sends at once);
/// non-blocking, Nagle off.
fn join(addr: &str, name: &str, protocol: Protocol, first: &[u8]) -> std::io::Result<StdStream> {
    let mut stream = StdStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(STALL))?;
    let offer = match protocol {
        Protocol::Raw => String::new(),
        Protocol::Channel(_) => {
            format!("Sec-WebSocket-Protocol: {}\r\n", nitrous::channel::PROTOCOL)
        }
    };
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n",
        protocol.route(name)
    )?;
    // Byte by byte, so nothing after the head is read here.
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let head = String::from_utf8_lossy(&head);
        return Err(std::io::Error::other(format!("not a 101: {head}")));
    }
    if let Protocol::Channel(_) = protocol {
        stream.write_all(&masked(0x81, br#"{"type":"hello"}"#))?;
        // The welcome names the peer, so only its start is known.
        let mut header = [0u8; 2];
        stream.read_exact(&mut header)?;
        let mut welcome = vec![0u8; usize::from(header[1] & 0x7f)];
        stream.read_exact(&mut welcome)?;
        if header[0] != 0x81 || header[1] >= 126 || !welcome.starts_with(br#"{"type":"welcome""#) {
            let welcome = String::from_utf8_lossy(&welcome);
            return Err(std::io::Error::other(format!("not a welcome: {welcome}")));
        }
    }
    let mut got = vec![0u8; first.len()];
    stream.read_exact(&mut got)?;
    if got != first {
        let got = String::from_utf8_lossy(&got);
        return Err(std::io::Error::other(format!(
            "not the route's first frame: {got}"
        )));
    }
    stream.set_nonblocking(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A reader of three `[0x82, 1, b'x']` frames on one end of a loopback connection, and the
    /// other end, which writes `sent`. Returns what the reader ends with and how many frames it
    /// answered (all but the last).
    fn read_all(sent: &[u8]) -> (std::io::Result<bool>, usize) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let client =
            StdStream::connect(listener.local_addr().expect("its address")).expect("a connection");
        let (mut server, _) = listener.accept().expect("the connection");
        client.set_nonblocking(true).expect("non-blocking");
        let mut poll = Poll::new().expect("a poll");
        let mut reader =
            Reader::new(&poll, client, 0, unmasked(0x82, b"x"), 3).expect("registered");
        server.write_all(sent).expect("written");
        drop(server);
        let mut events = Events::with_capacity(1);
        let mut buffer = [0u8; 4];
        let mut answered = 0;
        loop {
            poll.poll(&mut events, Some(STALL)).expect("polled");
            match reader.read(&mut buffer, |_| {
                answered += 1;
                Ok(())
            }) {
                Ok(false) => continue,
                ended => return (ended, answered),
            }
        }
    }

    #[test]
    fn the_last_expected_frame_ends_the_read() {
        let (ended, answered) = read_all(&[0x82, 1, b'x'].repeat(3));
        assert!(ended.expect("no error"));
        assert_eq!(answered, 2);
    }

    #[test]
    fn a_byte_that_is_not_the_frames_fails_the_run() {
        let mut sent = [0x82, 1, b'x'].repeat(3);
        sent[5] = b'y';
        let (ended, answered) = read_all(&sent);
        assert_eq!(
            ended.expect_err("a wrong byte").kind(),
            ErrorKind::InvalidData
        );
        assert_eq!(answered, 1);
    }

    #[test]
    fn a_server_that_closes_early_fails_the_run() {
        let (ended, answered) = read_all(&[0x82, 1, b'x']);
        assert_eq!(ended.expect_err("closed").kind(), ErrorKind::UnexpectedEof);
        assert_eq!(answered, 1);
    }
}
