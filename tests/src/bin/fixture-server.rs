//! Serves the fixture app on `127.0.0.1:PORT` (argument; 0 picks a free port) and prints the
//! address, for clients nitrous did not write (the Autobahn TestSuite, Python clients) and for
//! the multi-process Redis tests: with `NITROUS_REDIS_URL` set, its hub shares topics through
//! Redis. Stops on Ctrl-C / SIGTERM.

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};
use nitrous_tests::{AppState, router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "0".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let hub = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => Hub::with_broker(RedisBroker::new(RedisConfig::new(url))),
        Err(_) => Hub::new(),
    };
    println!("{}", listener.local_addr()?);
    let app = router().layer(hub.layer()).with_state(AppState::default());
    nitrous::serve(listener, app).await
}
