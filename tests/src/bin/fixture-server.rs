//! Serves the fixture app on `127.0.0.1:PORT` (argument; 0 picks a free port) and prints the
//! address, for clients nitrous did not write (the Autobahn TestSuite, Python clients), for the
//! multi-process Redis tests (with `NITROUS_REDIS_URL` set, its hub shares topics through Redis)
//! and for the hostile-client tests, which measure its memory and may shorten its timeouts with
//! `NITROUS_HEADER_TIMEOUT_MS` and `NITROUS_SHUTDOWN_GRACE_MS`. `NITROUS_RETAIN` names retained
//! topics: `news=200,todos:*=50`. Stops on Ctrl-C / SIGTERM.

use std::time::Duration;

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};
use nitrous_tests::{AppState, router};

fn millis(var: &str) -> Option<Duration> {
    let value = std::env::var(var).ok()?;
    match value.parse() {
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => panic!("{var} must be a number of milliseconds, not {value:?}"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "0".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let hub = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => Hub::with_broker(RedisBroker::new(RedisConfig::new(url))),
        Err(_) => Hub::new(),
    };
    nitrous_tests::retain_from_env(&hub);
    println!("{}", listener.local_addr()?);
    let app = router().layer(hub.layer()).with_state(AppState::default());
    let mut server = nitrous::serve(listener, app);
    if let Some(timeout) = millis("NITROUS_HEADER_TIMEOUT_MS") {
        server = server.header_timeout(Some(timeout));
    }
    if let Some(grace) = millis("NITROUS_SHUTDOWN_GRACE_MS") {
        server = server.shutdown_grace(grace);
    }
    server.await
}
