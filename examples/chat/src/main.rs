//! The seed's app: `cargo run -p chat`, then open the printed URL.
//!
//! Listens on `127.0.0.1:3000`; `--addr HOST:PORT` or `NITROUS_ADDR` picks another address.

nitrous::routes!();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = address().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("{ROUTES}");
    println!(
        "chat: listening on http://{}  (Ctrl-C stops)",
        listener.local_addr()?
    );
    nitrous::serve(listener, router()).await
}

/// `--addr HOST:PORT`, else `NITROUS_ADDR`, else `127.0.0.1:3000`.
fn address() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--addr"), Some(addr)) => Ok(addr),
        (None, _) => {
            Ok(std::env::var("NITROUS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned()))
        }
        _ => Err("usage: chat [--addr HOST:PORT]".to_owned()),
    }
}
