//! A nitrous app: every file under `src/server/routes` is a route, and every file under
//! `src/server/middleware` runs before each of them (see the table it prints).
//!
//! `cargo run` listens on `127.0.0.1:3000`; `NITROUS_ADDR=HOST:PORT` picks another address
//! (port 0: any free port). Ctrl-C stops it gracefully. `cargo nitrous dev` runs it too, and on
//! every saved change swaps a new build in on the same socket, clients kept.

nitrous::routes!();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // nitrous reports refusals, slow clients and panicking hooks as `tracing` events: show them.
    // RUST_LOG picks what shows (`RUST_LOG=debug`, `RUST_LOG=nitrous=debug`); info by default.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::var("NITROUS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    // The socket `cargo nitrous dev` hands over, else a new one on `addr`.
    let listener = nitrous::listen(&addr).await?;
    print!("{ROUTES}");
    println!("listening on http://{}", listener.local_addr()?);
    nitrous::serve(listener, router()).await
}
