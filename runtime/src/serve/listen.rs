//! Where a server listens, and how it says it is ready: a socket handed over by a supervisor
//! (`cargo nitrous dev`, systemd socket activation, `systemfd`) or one of its own, and the
//! `READY=1` and `STOPPING=1` notices that supervisor waits for to swap an old process for a new
//! one.

use std::io;

use tokio::net::{TcpListener, ToSocketAddrs};

/// The listening socket: the one the process was handed, else a new one bound to `addr`.
///
/// A supervisor hands a socket over by the `LISTEN_FDS` convention (file descriptor 3, with
/// `LISTEN_FDS=1` and `LISTEN_PID` unset or this process's id): `cargo nitrous dev` does, to swap
/// a rebuilt app in without refusing a connection, and so do systemd's socket activation and
/// `systemfd`. Without one, this is `TcpListener::bind(addr)`.
///
/// ```no_run
/// # async fn run(router: nitrous::axum::Router) -> std::io::Result<()> {
/// let listener = nitrous::listen("127.0.0.1:3000").await?;
/// nitrous::serve(listener, router).await
/// # }
/// ```
///
/// Call it first in `main`, before the app starts threads of its own: taking the socket removes
/// the two variables from the environment, so the app's own child processes do not see them.
pub async fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    if std::env::var_os("LISTEN_FDS").is_none() {
        return TcpListener::bind(addr).await;
    }
    let handed = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("nitrous: LISTEN_FDS is set, but descriptor 3 is not a listening TCP socket: {e}"),
            )
        })?;
    match handed {
        Some(listener) => {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        }
        // LISTEN_PID names another process: the socket was not meant for this one.
        None => TcpListener::bind(addr).await,
    }
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
