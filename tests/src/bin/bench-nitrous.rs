//! The nitrous side of `cargo xtask bench`: `/ws/echo`, `/ws/fan` and `/api/sse?n=`, and for the
//! scale workloads `/ws/room`, `/api/room` and `/ws/topics`, from route files. Prints its address;
//! with `NITROUS_REDIS_URL` its hub shares topics through Redis, `NITROUS_RETAIN`
//! (`fan=1000`) retains topics, and `NITROUS_BENCH_METRICS=1` installs a metrics recorder (one
//! atomic per metric, `nitrous_tests::recording`), to measure what recording costs;
//! `NITROUS_H2C_OFF=1` serves without cleartext HTTP/2 (the first bytes are still looked at, for
//! the WebSocket handshakes `serve` answers itself).

#![allow(missing_debug_implementations)] // route files as users write them

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};

nitrous::routes!(dir = "../bench_routes");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    if std::env::var_os("NITROUS_BENCH_METRICS").is_some() {
        let recording = std::sync::Arc::default();
        metrics::set_global_recorder(nitrous_tests::recording::Installed(recording))
            .expect("the only recorder");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hub = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => Hub::with_broker(RedisBroker::new(RedisConfig::new(url))),
        Err(_) => Hub::new(),
    };
    nitrous_tests::retain_from_env(&hub);
    println!("{}", listener.local_addr()?);
    nitrous::serve(listener, router().layer(hub.layer()))
        .h2c(std::env::var_os("NITROUS_H2C_OFF").is_none())
        .await
}
