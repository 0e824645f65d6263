//! The seed's app: the chat at `/ws/chat` (the seed's raw handler) and `/ws/room` (the same room
//! as a typed channel), the clock at `/api/sse`, and a page at `/` using the room and the clock
//! through `nitrous-client`, served at `/nitrous-client/`.
//!
//! `cargo run -p chat` listens on `127.0.0.1:3000`; `--addr HOST:PORT` or `NITROUS_ADDR` picks
//! another address (port 0: any free port). Ctrl-C stops it gracefully.
//!
//! The room keeps its last 100 messages, so a page that reconnects shows what it missed. With
//! `NITROUS_REDIS_URL=redis://127.0.0.1:6379`, several processes share the room through Redis,
//! and its history lives in a Redis Stream: a page resumes on any of them, across restarts. The
//! page shows who is in the room, on every instance (presence on topic `here`).
//!
//! With `NITROUS_TLS_CERT` and `NITROUS_TLS_KEY` (PEM files) it serves HTTPS, where browsers speak
//! HTTP/2: the page's event streams and its WebSocket share one connection.
//!
//! Built with `--features prometheus`, it answers `GET /metrics` with nitrous's metrics
//! (`nitrous::telemetry`) in Prometheus's text format.

// The route files are the seed's handlers as written (`pub struct Chat;` without Debug).
#![allow(missing_debug_implementations)]

use nitrous::Hub;
use nitrous::axum::extract::Path;
use nitrous::axum::http::{StatusCode, header};
use nitrous::axum::response::{Html, IntoResponse, Response};
use nitrous::axum::routing::get;
use nitrous::broker::redis::{RedisBroker, RedisConfig};

nitrous::routes!();

/// The chat page: plain HTML and JavaScript, no build step.
const PAGE: &str = include_str!("page.html");

// `CLIENT`: the browser client's modules (`client/dist`), embedded by build.rs.
include!(concat!(env!("OUT_DIR"), "/client.rs"));

/// One module of the browser client.
async fn client(Path(file): Path<String>) -> Response {
    match CLIENT.iter().find(|(name, _)| *name == file) {
        Some((_, text)) => ([(header::CONTENT_TYPE, "text/javascript")], *text).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Refusals, slow clients and panicking hooks are `tracing` events; RUST_LOG picks what shows.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let addr = address().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // The socket `cargo nitrous dev` hands over, else a new one on `addr`.
    let listener = nitrous::listen(&addr).await?;
    let hub = match std::env::var("NITROUS_REDIS_URL") {
        Ok(url) => Hub::with_broker(RedisBroker::new(RedisConfig::new(url))),
        Err(_) => Hub::new(),
    };
    hub.retain("chat", 100);
    hub.track_presence(routes::ws::room::HERE); // who is in the room, across instances
    #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
    let mut app = router()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/nitrous-client/{file}", get(client));
    #[cfg(feature = "prometheus")]
    {
        // Installed before the server starts, so nitrous's metrics register with it.
        let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(std::io::Error::other)?;
        app = app.route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        );
    }
    let app = app.layer(hub.layer());
    println!("{ROUTES}(and GET / serves the chat page, GET /nitrous-client/* its client)\n");
    let addr = listener.local_addr()?;
    let mut server = nitrous::serve(listener, app);
    let scheme = match tls()? {
        Some(tls) => {
            server = server.tls(tls);
            "https"
        }
        None => "http",
    };
    println!("chat: listening on {scheme}://{addr}  (Ctrl-C stops)");
    let served = server.await;
    // The pages the shutdown closed leave the room on the other instances now, not with the TTL.
    hub.flush().await;
    served?;
    println!("chat: stopped");
    Ok(())
}

/// HTTPS when `NITROUS_TLS_CERT` and `NITROUS_TLS_KEY` name PEM files.
fn tls() -> std::io::Result<Option<nitrous::Tls>> {
    match (
        std::env::var_os("NITROUS_TLS_CERT"),
        std::env::var_os("NITROUS_TLS_KEY"),
    ) {
        (Some(certificates), Some(key)) => {
            nitrous::Tls::from_pem_files(certificates, key).map(Some)
        }
        (None, None) => Ok(None),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "set both NITROUS_TLS_CERT and NITROUS_TLS_KEY (PEM files), or neither",
        )),
    }
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

/// The time of day as `HH:MM:SS` (UTC), for the clock.
pub fn now_hms() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
