//! The nitrous side of `cargo xtask bench`: `/ws/echo`, `/ws/fan` and `/api/sse?n=`, and for the
//! scale workloads `/ws/room`, `/api/room` and `/ws/topics`, from route files. Prints its address;
//! with `NITROUS_REDIS_URL` its hub shares topics through Redis, `NITROUS_RETAIN`
//! (`fan=1000`) retains topics, and `NITROUS_BENCH_METRICS=1` installs a metrics recorder (one
//! atomic per metric, `nitrous_tests::recording`), to measure what recording costs;
//! `NITROUS_H2C_OFF=1` serves without cleartext HTTP/2 (the first bytes are still looked at, for
//! the WebSocket handshakes `serve` answers itself). `NITROUS_BENCH_PER_CORE=N` serves instead
//! from N threads, each with a current-thread runtime and its own listener on the one port
//! (`SO_REUSEPORT`), one hub between them and none of the other variables: a measurement of
//! thread-per-core serving against tokio's work-stealing runtime, not something nitrous offers.

#![allow(missing_debug_implementations)] // route files as users write them

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};

nitrous::routes!(dir = "../bench_routes");

fn main() -> std::io::Result<()> {
    match std::env::var("NITROUS_BENCH_PER_CORE") {
        Ok(threads) => per_core(threads.parse().expect("NITROUS_BENCH_PER_CORE=THREADS")),
        Err(_) => work_stealing(),
    }
}

/// As an app's `main` reads: tokio's default runtime, one listener.
#[tokio::main]
async fn work_stealing() -> std::io::Result<()> {
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

/// `threads` current-thread runtimes, each accepting on its own socket bound to one port: the
/// kernel spreads connections between them, and a connection's tasks never leave its thread.
fn per_core(threads: usize) -> std::io::Result<()> {
    let hub = Hub::new();
    let mut sockets = Vec::with_capacity(threads);
    let mut addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
    for _ in 0..threads.max(1) {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        addr = socket.local_addr()?;
        sockets.push(socket);
    }
    println!("{addr}");
    let serving: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let app = router().layer(hub.layer());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move { nitrous::serve(socket.listen(1024)?, app).await })
            })
        })
        .collect();
    for thread in serving {
        thread.join().expect("a serving thread")?;
    }
    Ok(())
}
