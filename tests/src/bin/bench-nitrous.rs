//! The nitrous side of `cargo xtask bench`: `/ws/echo`, `/ws/fan` and `/api/sse?n=`, and for the
//! scale workloads `/ws/room`, `/api/room` and `/ws/topics`, from route files. Prints its address;
//! with `NITROUS_REDIS_URL` its hub shares topics through Redis, and `NITROUS_RETAIN`
//! (`fan=1000`) retains topics.

#![allow(missing_debug_implementations)] // route files as users write them

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};

nitrous::routes!(dir = "../bench_routes");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hub = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => Hub::with_broker(RedisBroker::new(RedisConfig::new(url))),
        Err(_) => Hub::new(),
    };
    nitrous_tests::retain_from_env(&hub);
    println!("{}", listener.local_addr()?);
    nitrous::serve(listener, router().layer(hub.layer())).await
}
