//! Dev mode, set by `cargo nitrous dev` through `NITROUS_DEV=1`: what changes while an app is
//! rebuilt and swapped under its clients. Nothing here runs unless the variable is set.
//!
//! - A shutdown is a restart: WebSocket peers close with 1012 (Service Restart), not 1001, so a
//!   page knows to reconnect at once.
//! - The same-origin check takes `localhost`, `127.0.0.1` and `[::1]` for one host (with the same
//!   port): a page opened at `http://localhost:3000` may open a socket to `127.0.0.1:3000`.
//! - `GET /__nitrous/dev` is an event stream whose first event, `version`, names the running
//!   process; when the app is swapped, the stream ends, the browser reconnects (after 250 ms) and
//!   gets the new version. `GET /__nitrous/dev.js` is a script that listens to it, and every
//!   `text/html` response gets a `<script>` tag for it before `</body>`. On a new version the
//!   script fires a cancelable `nitrous:update` event on `window`; unless a listener cancels it,
//!   the page reloads when its own HTML changed, and otherwise stays (its sockets reconnect by
//!   themselves).

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;

use crate::sse::extract::{OnShutdown, respond};
use crate::sse::{Event, EventStream};

/// The variable `cargo nitrous dev` sets for the app it runs.
pub(crate) const ENV: &str = "NITROUS_DEV";

/// The reload signal's path.
pub(crate) const EVENTS_PATH: &str = "/__nitrous/dev";

/// The script's path.
pub(crate) const SCRIPT_PATH: &str = "/__nitrous/dev.js";

/// What a `text/html` response gets before its `</body>`.
const SCRIPT_TAG: &str = "<script src=\"/__nitrous/dev.js\"></script>";

/// The largest HTML page the script tag is added to; a larger one is served as it is.
const MAX_INJECTED_PAGE: usize = 16 << 20;

/// The close code of a shutdown in dev: Service Restart, the app comes back at once.
const SERVICE_RESTART: u16 = 1012;

/// The close code of a shutdown otherwise: Going Away.
const GOING_AWAY: u16 = 1001;

/// Whether this process runs under `cargo nitrous dev` (`NITROUS_DEV=1`), read once.
pub(crate) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(ENV).is_some_and(|v| v == "1"))
}

/// The close code and reason every WebSocket peer gets when the server shuts down.
pub(crate) fn shutdown_close() -> (u16, &'static str) {
    if enabled() {
        (SERVICE_RESTART, "server restarting")
    } else {
        (GOING_AWAY, "server shutting down")
    }
}

/// The running process, as the reload signal names it: a new one on every start.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        format!("{}-{started}", std::process::id())
    })
}

/// `router` with the reload signal, the script, and the script tag in its HTML pages.
pub(crate) fn wrap(router: Router) -> Router {
    Router::new()
        .route(EVENTS_PATH, get(events))
        .route(SCRIPT_PATH, get(script))
        .fallback_service(router.layer(axum::middleware::map_response(inject)))
}

async fn events(shutdown: OnShutdown) -> Response {
    let stream = EventStream::new();
    let first = Event::data(version())
        .event("version")
        .retry(Duration::from_millis(250));
    // A new stream has room for its first event, so this does not wait.
    let _ = stream.push(first).await;
    respond(stream, shutdown)
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("dev.js"),
    )
        .into_response()
}

/// Adds the script tag to a `text/html` response.
async fn inject(response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let encoded = response.headers().contains_key(header::CONTENT_ENCODING);
    if !is_html || encoded {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Read up to the bound; a larger page, or one that fails to read, goes out as it is: what was
    // read, then the rest of the body (or its error) as it comes.
    let mut body = body.into_data_stream();
    let mut read: Vec<Bytes> = Vec::new();
    let mut size = 0;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                size += chunk.len();
                read.push(chunk);
                if size > MAX_INJECTED_PAGE {
                    return as_it_is(parts, read, body);
                }
            }
            Err(error) => {
                let failed = futures_util::stream::once(async { Err(error) });
                return as_it_is(parts, read, failed);
            }
        }
    }
    let page = read.concat();
    let page = with_script_tag(&page);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(page.len() as u64));
    Response::from_parts(parts, Body::from(page))
}

/// A response whose body is what was `read` of it, then the `rest`.
fn as_it_is(
    parts: axum::http::response::Parts,
    read: Vec<Bytes>,
    rest: impl futures_util::Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
) -> Response {
    let read = futures_util::stream::iter(read.into_iter().map(Ok));
    Response::from_parts(parts, Body::from_stream(read.chain(rest)))
}

/// `page` with the script tag before its last `</body>`, or at its end.
fn with_script_tag(page: &[u8]) -> Vec<u8> {
    let at = page
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(page.len());
    let mut out = Vec::with_capacity(page.len() + SCRIPT_TAG.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(SCRIPT_TAG.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// Whether `origin`'s authority and `host` name the same loopback server: `localhost`,
/// `127.0.0.1` and `[::1]` with the same port.
pub(crate) fn same_loopback(authority: &str, host: &str) -> bool {
    match (loopback_port(authority), loopback_port(host)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The port part (`""` for none) of a loopback `host[:port]`, or `None` for another host.
fn loopback_port(authority: &str) -> Option<&str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?,
        None => authority.split_once(':').unwrap_or((authority, "")),
    };
    let port = port.strip_prefix(':').unwrap_or(port);
    let loopback = host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1";
    loopback.then_some(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_body_end() {
        assert_eq!(
            String::from_utf8(with_script_tag(b"<html><body>hi</BODY></html>")).unwrap(),
            format!("<html><body>hi{SCRIPT_TAG}</BODY></html>")
        );
        assert_eq!(
            String::from_utf8(with_script_tag(b"<p>no body tag")).unwrap(),
            format!("<p>no body tag{SCRIPT_TAG}")
        );
    }

    #[tokio::test]
    async fn a_page_too_large_to_add_the_script_to_is_served_as_it_is() {
        let page = format!(
            "<html><body>{}</body></html>",
            "x".repeat(MAX_INJECTED_PAGE)
        );
        let response = ([(header::CONTENT_TYPE, "text/html")], page.clone()).into_response();
        let response = inject(response).await;
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let served = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(served == page.as_bytes(), "served as it is");
        // A page within the bound gets the script.
        let response = ([(header::CONTENT_TYPE, "text/html")], "<body></body>").into_response();
        let served = axum::body::to_bytes(inject(response).await.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(served, format!("<body>{SCRIPT_TAG}</body>").as_bytes());
    }

    #[test]
    fn loopback_names_are_one_host_with_the_same_port() {
        assert!(same_loopback("localhost:3000", "127.0.0.1:3000"));
        assert!(same_loopback("[::1]:3000", "LOCALHOST:3000"));
        assert!(same_loopback("localhost", "127.0.0.1"));
        assert!(!same_loopback("localhost:3000", "127.0.0.1:4000"));
        assert!(!same_loopback("localhost:3000", "127.0.0.1"));
        assert!(!same_loopback("evil.test:3000", "127.0.0.1:3000"));
        assert!(!same_loopback("localhost.evil.test:3000", "127.0.0.1:3000"));
        assert!(!same_loopback("[::1", "[::1]"));
    }
}
