//! A `redis-server` of a test's own, on a port nobody else is handed.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Error, Process, Signal};

/// How many ports [`RedisServer::start`] tries before it gives up.
const PORT_TRIES: usize = 50;

/// What `redis-server` prints once it serves.
const READY: &str = "Ready to accept connections";

/// What it prints when its port is taken (and then exits).
const PORT_TAKEN: &str = "Address already in use";

/// A `redis-server` on `127.0.0.1`, killed on drop (and its data folder, if it has one, removed);
/// plain, with an append-only file, or speaking only TLS.
///
/// Its port is found by trying: a port outside the kernel's ephemeral range (which `bind` to
/// port 0 and outgoing connections take from), chosen at random, and another if `redis-server`
/// says it is taken. Nothing is bound and let go first, so no other test can take the port in
/// between; and since the kernel hands nobody a port from outside that range, the port is still
/// free when [`RedisServer::restart`] starts the server on it again.
#[derive(Debug)]
pub struct RedisServer {
    /// `None` while stopped.
    process: Option<Process>,
    port: u16,
    /// With an append-only file there (`appendfsync always`), so a restart keeps the data.
    dir: Option<PathBuf>,
    tls: Option<Tls>,
}

/// The files of a server that speaks only TLS: its certificate and key, and the CA that signed
/// the certificate.
#[derive(Clone, Debug)]
struct Tls {
    certificate: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl RedisServer {
    /// A server that keeps nothing on disk; it is serving when this returns. Fails, saying how
    /// to install it, when `redis-server` is not on the `PATH`.
    pub fn start() -> Result<RedisServer, Error> {
        RedisServer::start_on_one_of(None, None, std::iter::repeat_with(random_port))
    }

    /// A server that keeps its data as a production Redis does, in an append-only file written
    /// before each command is answered (`--appendonly yes --appendfsync always`), in a new folder
    /// of its own under the temporary folder: a [`restart`](RedisServer::restart) keeps what it
    /// had. The folder is removed on drop.
    pub fn start_with_aof() -> Result<RedisServer, Error> {
        let dir = new_data_dir()?;
        let ports = std::iter::repeat_with(random_port);
        let started = RedisServer::start_on_one_of(Some(dir.clone()), None, ports);
        if started.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        started
    }

    /// A server that speaks only TLS (`rediss://`; `redis-server` built with TLS, as Debian's
    /// is), with `certificate` and `key` (PEM files) signed by the CA in `ca`, not asking clients
    /// for certificates of their own.
    pub fn start_tls(certificate: &Path, key: &Path, ca: &Path) -> Result<RedisServer, Error> {
        let tls = Tls {
            certificate: certificate.to_path_buf(),
            key: key.to_path_buf(),
            ca: ca.to_path_buf(),
        };
        RedisServer::start_on_one_of(None, Some(tls), std::iter::repeat_with(random_port))
    }

    /// Whether `redis-server` can be run: a bench skips its Redis figures without it.
    pub fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    }

    /// `redis://127.0.0.1:PORT` (`rediss://` for [`RedisServer::start_tls`]), as
    /// `NITROUS_REDIS_URL` and `RedisBroker::connect` take it.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The port it serves on, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the running server; `None` while it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// The folder of its append-only file ([`RedisServer::start_with_aof`]).
    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Freezes it (`SIGSTOP`): its connections stay open, and nothing sent on them is answered
    /// until [`resume`](RedisServer::resume), as with a long `SAVE` or a paused VM.
    pub fn pause(&mut self) -> Result<(), Error> {
        self.running()?.signal(Signal::Stop)
    }

    /// Lets a paused server go on (`SIGCONT`), where it was.
    pub fn resume(&mut self) -> Result<(), Error> {
        self.running()?.signal(Signal::Continue)
    }

    /// Kills it (`SIGKILL`, a crash: every connection breaks) and waits until it is gone; the
    /// port and the data folder stay this handle's. Nothing if it is stopped already.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// [`stop`](RedisServer::stop) (if it runs), then starts it again on the same port, with the
    /// same data folder; returns once it serves, what the append-only file holds loaded.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        match spawn(self.port, self.dir.as_deref(), self.tls.as_ref())? {
            Spawned::Serving(process) => {
                self.process = Some(process);
                Ok(())
            }
            Spawned::PortTaken(error) => Err(Error::new(format!(
                "redis-server cannot listen on port {} again: {error}",
                self.port
            ))),
        }
    }

    /// Starts on the first of `ports` that is free.
    fn start_on_one_of(
        dir: Option<PathBuf>,
        tls: Option<Tls>,
        ports: impl IntoIterator<Item = u16>,
    ) -> Result<RedisServer, Error> {
        let mut taken = Vec::new();
        for port in ports.into_iter().take(PORT_TRIES) {
            match spawn(port, dir.as_deref(), tls.as_ref())? {
                Spawned::Serving(process) => {
                    return Ok(RedisServer {
                        process: Some(process),
                        port,
                        dir,
                        tls,
                    });
                }
                Spawned::PortTaken(_) => taken.push(port),
            }
        }
        Err(Error::new(format!(
            "redis-server found no free port: {taken:?} were taken"
        )))
    }

    fn running(&mut self) -> Result<&mut Process, Error> {
        let port = self.port;
        self.process
            .as_mut()
            .ok_or_else(|| Error::new(format!("the redis-server on port {port} is stopped")))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// What became of a `redis-server` started on a port.
enum Spawned {
    Serving(Process),
    /// The port was taken; it said so and exited.
    PortTaken(Error),
}

/// `redis-server` on `port`, with its append-only file in `dir` if given, speaking only TLS with
/// `tls` if given.
fn spawn(port: u16, dir: Option<&Path>, tls: Option<&Tls>) -> Result<Spawned, Error> {
    if !RedisServer::installed() {
        return Err(Error::new(
            "redis-server is not on the PATH: install Debian's redis-server package \
             (`cargo xtask ci` installs it when it is missing)",
        ));
    }
    let mut command = Command::new("redis-server");
    command.args(["--bind", "127.0.0.1", "--save", ""]);
    match tls {
        None => command.args(["--port", &port.to_string()]),
        Some(tls) => command
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--tls-auth-clients", "no", "--tls-cert-file"])
            .arg(&tls.certificate)
            .arg("--tls-key-file")
            .arg(&tls.key)
            .arg("--tls-ca-cert-file")
            .arg(&tls.ca),
    };
    match dir {
        Some(dir) => command
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir),
        None => command.args(["--appendonly", "no"]),
    };
    let mut port_taken = false;
    let started = Process::start(command, |line| {
        port_taken |= line.contains(PORT_TAKEN);
        line.contains(READY).then(String::new)
    });
    match started {
        Ok((process, _)) => Ok(Spawned::Serving(process)),
        Err(error) if port_taken => Ok(Spawned::PortTaken(error)),
        Err(error) => Err(error),
    }
}

/// A port from outside the kernel's ephemeral range, at random.
fn random_port() -> u16 {
    let ports = unassigned_ports();
    let width = u64::from(ports.end() - ports.start()) + 1;
    let offset = RandomState::new().hash_one(std::process::id()) % width;
    ports.start() + offset as u16
}

/// The ports the kernel never hands out by itself, above the well-known and registered ports
/// most services use: below the ephemeral range (`net.ipv4.ip_local_port_range`) or above it,
/// whichever is wider.
fn unassigned_ports() -> RangeInclusive<u16> {
    const LOWEST: u16 = 16384;
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
    let (low, high) = range
        .as_deref()
        .and_then(|text| {
            let mut bounds = text.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((bounds.next()??, bounds.next()??))
        })
        .unwrap_or((32768, 60999)); // Linux's default
    let below = LOWEST..=low.saturating_sub(1).max(LOWEST);
    let above = high.saturating_add(1).max(LOWEST)..=u16::MAX;
    if below.end() - below.start() >= above.end() - above.start() {
        below
    } else {
        above
    }
}

/// A new, empty folder under the temporary folder.
fn new_data_dir() -> Result<PathBuf, Error> {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "nitrous-redis-{}-{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir); // left by an earlier process with this id
    std::fs::create_dir_all(&dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;

    /// Sends one command in Redis's inline form; returns the first line of the reply.
    fn ask(redis: &RedisServer, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(stream, "{command}\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }

    #[test]
    fn servers_started_at_once_each_get_a_port_of_their_own() {
        let servers: Vec<RedisServer> = std::thread::scope(|scope| {
            let started: Vec<_> = (0..6)
                .map(|_| scope.spawn(|| RedisServer::start().unwrap()))
                .collect();
            started.into_iter().map(|s| s.join().unwrap()).collect()
        });
        let mut ports: Vec<u16> = servers.iter().map(RedisServer::port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), servers.len(), "{ports:?}");
        for redis in &servers {
            assert!(unassigned_ports().contains(&redis.port()));
            assert_eq!(ask(redis, "PING"), "+PONG");
            assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
        }
    }

    #[test]
    fn a_taken_port_is_passed_over() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap().port();
        let free = random_port();
        let redis = RedisServer::start_on_one_of(None, None, [taken, free]).unwrap();
        assert_eq!(redis.port(), free);
        assert_eq!(ask(&redis, "PING"), "+PONG");
    }

    #[test]
    fn a_restart_keeps_the_port_and_with_aof_the_data() {
        let mut redis = RedisServer::start_with_aof().unwrap();
        let (port, dir) = (redis.port(), redis.data_dir().unwrap().to_path_buf());
        assert_eq!(ask(&redis, "SET kept yes"), "+OK");
        let before = redis.pid();
        redis.restart().unwrap();
        assert_ne!(redis.pid(), before);
        assert_eq!(redis.port(), port);
        assert_eq!(
            ask(&redis, "GET kept"),
            "$3",
            "the value's length, then the value"
        );

        redis.stop();
        assert_eq!(redis.pid(), None);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
        assert!(redis.pause().is_err());
        redis.restart().unwrap();
        assert_eq!(ask(&redis, "GET kept"), "$3");
        drop(redis);
        assert!(!dir.exists(), "the data folder goes with the server");

        let mut plain = RedisServer::start().unwrap();
        assert_eq!(ask(&plain, "SET lost yes"), "+OK");
        plain.restart().unwrap();
        assert_eq!(ask(&plain, "GET lost"), "$-1", "nothing kept without AOF");
    }

    #[test]
    fn a_paused_server_answers_only_once_resumed() {
        let mut redis = RedisServer::start().unwrap();
        redis.pause().unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_millis(300)))
            .unwrap();
        stream.write_all(b"PING\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let unanswered = reader.read_line(&mut line).unwrap_err();
        assert_eq!(
            unanswered.kind(),
            std::io::ErrorKind::WouldBlock,
            "{line:?}"
        );
        redis.resume().unwrap();
        reader
            .get_ref()
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "+PONG");
    }
}
