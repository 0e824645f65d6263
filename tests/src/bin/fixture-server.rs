//! Serves the fixture app on `127.0.0.1:PORT` (argument; 0 picks a free port) and prints the
//! address, for clients nitrous did not write: the Autobahn TestSuite (`kosoku`), the Python
//! clients. Stops on Ctrl-C / SIGTERM.

use nitrous_tests::{AppState, router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "0".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("{}", listener.local_addr()?);
    nitrous::serve(listener, router().with_state(AppState::default())).await
}
