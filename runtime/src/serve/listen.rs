//! Where a server listens, and how it says it is ready: a socket handed over by a supervisor
//! (`cargo nitrous dev`, systemd socket activation, `systemfd`) or one of its own, and the
//! `READY=1` and `STOPPING=1` notices that supervisor waits for to swap an old process for a new
//! one.

use std::io;

use tokio::net::{TcpListener, ToSocketAddrs};

/// The listening socket: the one the process was handed, else a new one bound to `addr`.
///
/// A supervisor hands a listening TCP socket over in one of two ways, both taken here:
///
/// - on standard input, as inetd does and systemd's `StandardInput=socket`: `cargo nitrous dev`
///   does, to swap a rebuilt app in without refusing a connection;
/// - by the `LISTEN_FDS` convention (descriptor 3, with `LISTEN_FDS=1` and `LISTEN_PID` unset or
///   this process's id), as systemd's socket activation and `systemfd` do. On Linux only (5.6 or
///   later: the socket is duplicated with `pidfd_getfd`); elsewhere, or where a sandbox refuses
///   that call, use the first way.
///
/// Without either, this is `TcpListener::bind(addr)`.
///
/// ```no_run
/// # async fn run(router: nitrous::axum::Router) -> std::io::Result<()> {
/// let listener = nitrous::listen("127.0.0.1:3000").await?;
/// nitrous::serve(listener, router).await
/// # }
/// ```
///
/// A socket on standard input is taken, and standard input becomes `/dev/null`. One handed by
/// `LISTEN_FDS` is duplicated, and the environment is only read, never changed (changing it while
/// other threads run is unsound, and an async `main` has them): a child process the app starts
/// inherits `LISTEN_FDS` and descriptor 3, so remove the variables from its environment
/// (`Command::env_remove`) unless it is meant to serve the same socket.
pub async fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    match handed()? {
        Some(listener) => {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        }
        None => TcpListener::bind(addr).await,
    }
}

/// The listening socket a supervisor handed this process, if any: on standard input, else by
/// `LISTEN_FDS`.
#[cfg(unix)]
fn handed() -> io::Result<Option<std::net::TcpListener>> {
    use std::os::fd::AsFd;

    let stdin = io::stdin();
    if is_tcp_listener(stdin.as_fd()) {
        let socket = stdin.as_fd().try_clone_to_owned()?;
        // Standard input reads nothing from here on, and holds the socket no more: once the
        // server stops accepting, nothing here listens (and a child process does not inherit it).
        rustix::stdio::dup2_stdin(std::fs::File::open("/dev/null")?)?;
        return Ok(Some(socket.into()));
    }
    let Some(count) = std::env::var_os("LISTEN_FDS") else {
        return Ok(None);
    };
    // An empty or absent LISTEN_PID hands the sockets to whoever reads them (systemfd, a
    // supervisor with a process between); another process's id means they are not this one's.
    let pid = std::env::var_os("LISTEN_PID").unwrap_or_default();
    if !pid.is_empty() && pid.to_str() != Some(&std::process::id().to_string()) {
        return Ok(None);
    }
    if count
        .to_str()
        .and_then(|c| c.parse::<u32>().ok())
        .unwrap_or(0)
        == 0
    {
        return Ok(None);
    }
    let socket = descriptor_3()?;
    if !is_tcp_listener(socket.as_fd()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nitrous: LISTEN_FDS is set, but descriptor 3 is not a listening TCP socket",
        ));
    }
    Ok(Some(socket.into()))
}

#[cfg(not(unix))]
fn handed() -> io::Result<Option<std::net::TcpListener>> {
    Ok(None)
}

/// Whether `fd` is a listening TCP socket: a stream socket of an internet address, with no peer.
#[cfg(unix)]
fn is_tcp_listener(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use rustix::net::{AddressFamily, SocketType, getpeername, getsockname, sockopt};

    sockopt::socket_type(fd).is_ok_and(|kind| kind == SocketType::STREAM)
        && getsockname(fd).is_ok_and(|address| {
            matches!(
                address.address_family(),
                AddressFamily::INET | AddressFamily::INET6
            )
        })
        && getpeername(fd).is_err()
}

/// A duplicate of descriptor 3, taken through a pidfd of this very process: no claim on the
/// descriptor itself, which stays as it is.
#[cfg(target_os = "linux")]
fn descriptor_3() -> io::Result<std::os::fd::OwnedFd> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    pidfd_open(getpid(), PidfdFlags::empty())
        .and_then(|own| pidfd_getfd(own, 3, PidfdGetfdFlags::empty()))
        .map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!(
                    "nitrous: LISTEN_FDS hands this process descriptor 3, but it could not be taken ({e}; it needs Linux 5.6 or later and no sandbox that refuses pidfd_getfd); hand the socket on standard input instead (systemd: `StandardInput=socket`)"
                ),
            )
        })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn descriptor_3() -> io::Result<std::os::fd::OwnedFd> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "nitrous: LISTEN_FDS hands this process descriptor 3, which nitrous takes on Linux only; hand the socket on standard input instead",
    ))
}

/// Tells a supervisor what the server does, by the datagram socket named by `NOTIFY_SOCKET`
/// (systemd's `Type=notify`, and `cargo nitrous dev`): `READY=1` once it accepts connections,
/// `STOPPING=1` once it has stopped accepting them. Without the variable, nothing.
pub(crate) fn notify(state: State) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let message: &[u8] = match state {
        State::Ready => b"READY=1\n",
        State::Stopping => b"STOPPING=1\n",
    };
    if let Err(error) = send(&path, message) {
        tracing::warn!(
            "nitrous: could not tell the supervisor at NOTIFY_SOCKET={}: {error}",
            path.to_string_lossy()
        );
    }
}

/// What [`notify`] tells.
#[derive(Clone, Copy, Debug)]
pub(crate) enum State {
    Ready,
    Stopping,
}

#[cfg(unix)]
fn send(path: &std::ffi::OsStr, message: &[u8]) -> io::Result<()> {
    use std::os::unix::net::UnixDatagram;

    let socket = UnixDatagram::unbound()?;
    #[cfg(target_os = "linux")]
    if let Some(name) = path.as_encoded_bytes().strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(message, &addr)?;
        return Ok(());
    }
    socket.send_to(message, path)?;
    Ok(())
}

#[cfg(not(unix))]
fn send(_: &std::ffi::OsStr, _: &[u8]) -> io::Result<()> {
    Ok(())
}
