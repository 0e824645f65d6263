//! Serves the fixture app on `127.0.0.1:PORT` (argument; 0 picks a free port) and prints the
//! address, for clients nitrous did not write (the Autobahn TestSuite, Python clients), for the
//! multi-process Redis tests (with `NITROUS_REDIS_URL` set, its hub shares topics through Redis)
//! and for the hostile-client tests, which measure its memory and may shorten its timeouts with
//! `NITROUS_HEADER_TIMEOUT_MS`, `NITROUS_WRITE_TIMEOUT_MS` and `NITROUS_SHUTDOWN_GRACE_MS`. `NITROUS_RETAIN` names retained
//! topics: `news=200,todos:*=50`; `NITROUS_PRESENCE` tracked ones: `room:*`. Stops on Ctrl-C /
//! SIGTERM.
//!
//! With Redis, `NITROUS_REDIS_QUEUE_BYTES` sets the broker's queue limit,
//! `NITROUS_PRESENCE_TTL_MS` its presence TTL, `NITROUS_REDIS_CA`
//! names the PEM file of the CA a `rediss://` server's certificate is signed by, `GET /broker-stats`
//! answers its counts as JSON, and nitrous's logs go to stderr (`RUST_LOG` filters them; warnings
//! and the broker's info by default), for the Redis fault tests to read.

use std::time::Duration;

use nitrous::Hub;
use nitrous::axum::Json;
use nitrous::axum::routing::get;
use nitrous::broker::redis::{BrokerStats, RedisBroker, RedisConfig};
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
    let (hub, stats) = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => {
            logs_to_stderr();
            let mut config = RedisConfig::new(url);
            if let Ok(path) = std::env::var("NITROUS_REDIS_CA") {
                let pem =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("NITROUS_REDIS_CA {path}: {e}"));
                config = config.tls_root_certificate(pem);
            }
            if let Ok(bytes) = std::env::var("NITROUS_REDIS_QUEUE_BYTES") {
                config = config.queue_limit(bytes.parse().expect("NITROUS_REDIS_QUEUE_BYTES"));
            }
            if let Some(ttl) = millis("NITROUS_PRESENCE_TTL_MS") {
                config = config.presence_ttl(ttl);
            }
            let broker = RedisBroker::new(config);
            let stats = broker.stats();
            (Hub::with_broker(broker), Some(stats))
        }
        Err(_) => (Hub::new(), None),
    };
    nitrous_tests::retain_from_env(&hub);
    nitrous_tests::track_from_env(&hub);
    println!("{}", listener.local_addr()?);
    let mut app = router();
    if let Some(stats) = stats {
        app = app.route("/broker-stats", get(move || broker_stats(stats.clone())));
    }
    let app = app.layer(hub.layer()).with_state(AppState::default());
    let mut server = nitrous::serve(listener, app);
    if let Some(timeout) = millis("NITROUS_HEADER_TIMEOUT_MS") {
        server = server.header_timeout(Some(timeout));
    }
    if let Some(timeout) = millis("NITROUS_WRITE_TIMEOUT_MS") {
        server = server.write_timeout(Some(timeout));
    }
    if let Some(grace) = millis("NITROUS_SHUTDOWN_GRACE_MS") {
        server = server.shutdown_grace(grace);
    }
    let served = server.await;
    // The leaves of the peers the shutdown closed reach the other instances.
    hub.flush().await;
    served
}

async fn broker_stats(stats: BrokerStats) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "refused": stats.refused(),
        "unsent": stats.unsent(),
        "queued_bytes": stats.queued_bytes(),
        "caught_up": stats.caught_up(),
    }))
}

fn logs_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,nitrous::broker=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
