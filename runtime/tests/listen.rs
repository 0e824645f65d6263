//! `nitrous::listen` takes the listening socket a supervisor hands over, on standard input or by
//! `LISTEN_FDS`, and leaves the environment as it was (changing it while threads run is unsound).
//! Each case starts this test binary again as the app, on a socket the case bound, and reads what
//! the app saw.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use command_fds::{CommandFdExt, FdMapping};

/// Set in the environment of the app a case starts.
const ROLE: &str = "NITROUS_LISTEN_TEST_APP";

/// An address the app cannot bind (TEST-NET-1 is no address of this machine): it serves only on
/// a socket it was handed.
const UNBINDABLE: &str = "192.0.2.1:9";

/// The app a case starts: this binary again, with [`ROLE`] set. Run as a test, it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_a_case_starts() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let said = match nitrous::listen(UNBINDABLE).await {
        Ok(listener) => format!("listening on {}", listener.local_addr().unwrap()),
        Err(e) => format!("failed: {e}"),
    };
    let env = |name| std::env::var(name).unwrap_or_else(|_| "-".to_owned());
    println!(
        "app: {said}; LISTEN_FDS={} LISTEN_PID={}",
        env("LISTEN_FDS"),
        env("LISTEN_PID")
    );
}

/// Runs the app with `handover` applied, and returns its line.
fn app(handover: impl FnOnce(&mut Command)) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "the_app_a_case_starts", "--nocapture"])
        .env(ROLE, "1")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .stdin(Stdio::null());
    handover(&mut command);
    let output = command.output().expect("run the app");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("app: "))
        .unwrap_or_else(|| panic!("the app said nothing: {stdout}"))
        .to_owned()
}

#[test]
fn a_socket_handed_by_listen_fds_is_taken_and_the_environment_left_as_it_was() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let said = app(|command| {
        command
            .env("LISTEN_FDS", "1")
            .fd_mappings(vec![FdMapping {
                parent_fd: listener.into(),
                child_fd: 3,
            }])
            .unwrap();
    });
    assert_eq!(
        said,
        format!("listening on {addr}; LISTEN_FDS=1 LISTEN_PID=-")
    );
}

#[test]
fn a_socket_handed_on_standard_input_is_taken() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let said = app(|command| {
        command.stdin(Stdio::from(OwnedFd::from(listener)));
    });
    assert_eq!(
        said,
        format!("listening on {addr}; LISTEN_FDS=- LISTEN_PID=-")
    );
}

#[test]
fn a_socket_handed_to_another_process_is_left_alone() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let said = app(|command| {
        command
            .env("LISTEN_FDS", "1")
            .env("LISTEN_PID", "1")
            .fd_mappings(vec![FdMapping {
                parent_fd: listener.into(),
                child_fd: 3,
            }])
            .unwrap();
    });
    assert!(
        said.starts_with("failed: "),
        "it binds its own address: {said}"
    );
}
