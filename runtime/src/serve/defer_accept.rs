//! Deferred accept (`TCP_DEFER_ACCEPT`, Linux): the listener wakes the server for a connection
//! once its client has sent something, rather than as soon as the TCP handshake completes.
//!
//! Every protocol `serve` speaks starts with the client (a request head, HTTP/2's preface, TLS's
//! hello), so a connection accepted early only gets a read that finds nothing and a second
//! wake-up when its first bytes come. Deferred, the accept and the first read happen in one
//! wake-up. Bun does the same by default, and nginx with `listen ... deferred`. Pinned to a
//! core, it cut nitrous's context switches per handshake from 0.29-0.69 to 0.06-0.15, two system
//! calls, and about a sixth of the CPU per handshake (BENCHMARKS.md, issue 23's eighth step).
//!
//! A client that connects and sends nothing is not lost: Linux accepts it anyway once the
//! deferral ([`DEFERRAL`], 1 s) has passed and the client has answered the SYN-ACK sent again
//! then, and the header timeout runs from there.

use tokio::net::TcpListener;

/// How long the kernel holds a connection that has sent nothing before handing it over anyway.
/// Linux rounds it to whole SYN-ACK retransmissions: 1 s is one.
#[cfg(target_os = "linux")]
const DEFERRAL: u32 = 1;

/// Defers accepting on `listener` until a client's first bytes arrive, or turns that off
/// ([`Serve::tcp_defer_accept`]; a socket handed over may have it from an earlier process). A
/// listener that refuses (or a system without the option) is served anyway: the option saves a
/// wake-up per connection, and a client that speaks first sees no difference.
///
/// [`Serve::tcp_defer_accept`]: super::Serve::tcp_defer_accept
pub(super) fn defer_accept(listener: &TcpListener, enabled: bool) {
    #[cfg(target_os = "linux")]
    {
        let seconds = if enabled { DEFERRAL } else { 0 };
        if let Err(error) = nix::sys::socket::setsockopt(listener, option::DeferAccept, &seconds) {
            tracing::debug!("nitrous: TCP_DEFER_ACCEPT refused: {error}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (listener, enabled);
}

/// The option itself, which neither rustix nor socket2 nor nix names: declared with nix's
/// `sockopt_impl!`, the macro nix offers for options it lacks. nix's typed setter and getter make
/// the calls (a `u32` passed by pointer and size): the `unsafe` is in nix's macro, written once
/// there, which the workspace's `forbid(unsafe_code)` does not look into.
#[cfg(target_os = "linux")]
mod option {
    // The macro's expansion names `libc` at its call site.
    use nix::libc;
    use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};

    sockopt_impl!(
        /// `TCP_DEFER_ACCEPT`, in seconds; Linux reads it back as whole SYN-ACK retransmissions'
        /// worth of seconds, and 0 when off.
        DeferAccept,
        Both,
        libc::IPPROTO_TCP,
        libc::TCP_DEFER_ACCEPT,
        u32
    );
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::{Read, Write};

    use axum::Router;
    use axum::routing::get;
    use nix::sys::socket::getsockopt;

    /// What `Serve::tcp_defer_accept` leaves on the listener once the server answers a request:
    /// deferred by default, as the system has it when turned off.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_served_listener_defers_accepting_unless_asked_not_to() {
        for (asked, deferred) in [(None, true), (Some(false), false), (Some(true), true)] {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let addr = listener.local_addr().unwrap();
            // The same socket under a second descriptor, to read its option while `serve` has it.
            let same_socket = listener.try_clone().unwrap();
            assert_eq!(getsockopt(&same_socket, super::option::DeferAccept), Ok(0));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let router = Router::new().route("/", get(|| async { "served" }));
            let mut served = crate::serve(listener, router);
            if let Some(asked) = asked {
                served = served.tcp_defer_accept(asked);
            }
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(
                served
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .into_future(),
            );
            // Answered: the loop set the listener up before its first accept.
            let answer = tokio::task::spawn_blocking(move || {
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                client
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut answer = String::new();
                client.read_to_string(&mut answer).unwrap();
                answer
            })
            .await
            .unwrap();
            assert!(answer.ends_with("served"), "{answer}");
            let seconds = getsockopt(&same_socket, super::option::DeferAccept).unwrap();
            assert_eq!(
                seconds > 0,
                deferred,
                "asked: {asked:?}, read back {seconds}"
            );
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        }
    }
}
