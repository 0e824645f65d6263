//! The rooms workload's client processes. One process may hold only as many sockets as its
//! open-file limit allows, so the connections are spread over several processes of this same
//! binary (`bench-load room-client URL SOURCE_IP`), each connecting from its own 127.0.0.x
//! address (so no one address runs short of ports). The workload drives them over their stdin and
//! stdout, one line each way:
//!
//! | command | what the process does | reply |
//! |---|---|---|
//! | `open COUNT RATE` | opens COUNT more connections, RATE a second, each waiting for the room's `ready` | `opened OK FAILED LATENCIES` (µs from connect to `ready`, comma-separated) |
//! | `expect TEXT` | waits until every open connection has received the text TEXT | `got N` (or `lost N` after 30 s) |
//! | `close COUNT` | closes its last COUNT connections (a closing handshake each) | `closed N` |
//! | `exit` | exits | |
//!
//! A process exits by itself when its stdin closes, or after [`LIFETIME`] in any case; the
//! workload kills the ones it started when it is done with them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nitrous_support::Process;
use tokio::sync::{Notify, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::Failure;

/// How long a client process lives at most, whatever it is told.
pub(crate) const LIFETIME: Duration = Duration::from_secs(600);

/// How long a connection may take to open, or to close.
const PATIENCE: Duration = Duration::from_secs(20);

/// A client process, seen from the workload: stopped (and reaped) on drop.
pub(crate) struct ClientProcess {
    /// Killed and reaped with this.
    _process: Process,
    stdin: ChildStdin,
    /// Its replies, each with when it was read.
    replies: mpsc::Receiver<(String, Instant)>,
}

impl ClientProcess {
    pub(crate) fn start(url: &str, source: IpAddr) -> Result<ClientProcess, Failure> {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::Failed(format!("where is bench-load: {e}")))?;
        let mut process = Process::spawn(
            Command::new(exe)
                .args(["room-client", url, &source.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        )?;
        let child = process.child_mut();
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Failure::Failed("a room client has no pipes".to_owned()));
        };
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((line, Instant::now())).is_err() {
                    return;
                }
            }
        });
        Ok(ClientProcess {
            _process: process,
            stdin,
            replies,
        })
    }

    pub(crate) fn send(&mut self, command: &str) -> Result<(), Failure> {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| Failure::Failed(format!("a room client stopped: {e}")))
    }

    /// The next reply, and when it was read.
    pub(crate) fn reply(&self, patience: Duration) -> Result<(String, Instant), Failure> {
        self.replies.recv_timeout(patience).map_err(|_| {
            Failure::Failed(format!(
                "a room client did not answer within {} s",
                patience.as_secs()
            ))
        })
    }
}

/// `bench-load room-client URL SOURCE_IP`: the process side.
pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let [url, source] = args else {
        eprintln!("usage: bench-load room-client URL SOURCE_IP");
        return std::process::ExitCode::from(2);
    };
    let Ok(source) = source.parse::<IpAddr>() else {
        eprintln!("room-client: not an address: {source}");
        return std::process::ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("room-client: tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (tx, commands) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let outcome = runtime.block_on(async {
        tokio::time::timeout(LIFETIME, serve(url.clone(), source, commands)).await
    });
    match outcome {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(why)) => {
            eprintln!("room-client: {why}");
            std::process::ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("room-client: lived {} s; exiting", LIFETIME.as_secs());
            std::process::ExitCode::FAILURE
        }
    }
}

/// The texts the connections have received, counted, for `expect`.
#[derive(Default)]
struct Arrivals {
    counts: Mutex<HashMap<String, usize>>,
    changed: Notify,
}

/// One open connection: closed through `close`, and done when its task ends.
struct Open {
    close: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn serve(
    url: String,
    source: IpAddr,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Result<(), String> {
    let server: SocketAddr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .and_then(|host| host.parse().ok())
        .ok_or_else(|| format!("no address in {url}"))?;
    let arrivals = Arc::new(Arrivals::default());
    let mut open: Vec<Open> = Vec::new();
    let mut out = std::io::stdout().lock();
    while let Some(command) = commands.recv().await {
        let mut words = command.split(' ');
        let reply = match (words.next(), words.next(), words.next()) {
            (Some("open"), Some(count), Some(rate)) => {
                let count: usize = count.parse().map_err(|_| format!("bad count: {command}"))?;
                let rate: f64 = rate.parse().map_err(|_| format!("bad rate: {command}"))?;
                let target = Target {
                    url: &url,
                    server,
                    source,
                };
                open_paced(&target, count, rate, &arrivals, &mut open).await
            }
            (Some("expect"), Some(_), _) => {
                let text = command["expect ".len()..].to_owned();
                expect(&text, open.len(), &arrivals).await
            }
            (Some("close"), Some(count), None) => {
                let count: usize = count.parse().map_err(|_| format!("bad count: {command}"))?;
                close_last(count, &mut open).await
            }
            (Some("exit"), None, None) => return Ok(()),
            _ => return Err(format!("unknown command: {command}")),
        };
        writeln!(out, "{reply}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}

/// Where connections go, and from which address.
struct Target<'a> {
    url: &'a str,
    server: SocketAddr,
    source: IpAddr,
}

/// Opens `count` connections, one every `1 / rate` seconds, each waiting for `ready`.
async fn open_paced(
    target: &Target<'_>,
    count: usize,
    rate: f64,
    arrivals: &Arc<Arrivals>,
    open: &mut Vec<Open>,
) -> String {
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut opening = Vec::with_capacity(count);
    for _ in 0..count {
        pace.tick().await;
        let (url, server, source) = (target.url.to_owned(), target.server, target.source);
        opening.push(tokio::spawn(async move {
            let start = Instant::now();
            let client = tokio::time::timeout(PATIENCE, connect(&url, server, source)).await;
            match client {
                Ok(Ok(client)) => Some((client, start.elapsed())),
                _ => None,
            }
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    let mut failed = 0;
    for task in opening {
        match task.await.ok().flatten() {
            Some((client, latency)) => {
                latencies.push(latency.as_micros().to_string());
                let (close, closed) = oneshot::channel();
                let done = tokio::spawn(hold(client, closed, arrivals.clone()));
                open.push(Open { close, done });
            }
            None => failed += 1,
        }
    }
    format!(
        "opened {} {failed} {}",
        latencies.len(),
        if latencies.is_empty() {
            "-".to_owned()
        } else {
            latencies.join(",")
        }
    )
}

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects from `source`, upgrades, and waits for the room's `ready`.
async fn connect(url: &str, server: SocketAddr, source: IpAddr) -> Result<Client, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = socket.connect(server).await.map_err(|e| e.to_string())?;
    // Small buffers: thousands of connections here, each reading a few short texts.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 << 10)
        .write_buffer_size(0);
    let (mut client, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match client.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "ready" => return Ok(client),
            Some(Ok(_)) => continue,
            other => return Err(format!("no ready: {other:?}")),
        }
    }
}

/// Reads a connection until it is told to close (then closes it, bounded) or the server ends
/// it, counting every text it receives.
async fn hold(mut client: Client, mut close: oneshot::Receiver<()>, arrivals: Arc<Arrivals>) {
    loop {
        tokio::select! {
            frame = client.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    *arrivals
                        .counts
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(text.as_str().to_owned())
                        .or_default() += 1;
                    arrivals.changed.notify_one();
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = &mut close => break,
        }
    }
    let _ = tokio::time::timeout(PATIENCE, async {
        let _ = client.close(None).await;
        // Until the server's close frame and the end of the stream.
        while let Some(Ok(_)) = client.next().await {}
    })
    .await;
}

/// Waits until `expected` connections have received `text`.
async fn expect(text: &str, expected: usize, arrivals: &Arrivals) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let changed = arrivals.changed.notified();
        let got = arrivals
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(text)
            .copied()
            .unwrap_or(0);
        if got >= expected {
            return format!("got {got}");
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            return format!("lost {}", expected - got);
        }
    }
}

/// Closes the last `count` connections opened, and waits for each to finish closing.
async fn close_last(count: usize, open: &mut Vec<Open>) -> String {
    let from = open.len().saturating_sub(count);
    let closing: Vec<Open> = open.drain(from..).collect();
    let mut closed = 0;
    let mut done = Vec::with_capacity(closing.len());
    for connection in closing {
        // A connection the server ended already has nothing to close.
        let _ = connection.close.send(());
        done.push(connection.done);
    }
    for task in done {
        if task.await.is_ok() {
            closed += 1;
        }
    }
    format!("closed {closed}")
}
