//! The middleware folder (`src/guarded/middleware`), driven by real clients over real sockets: an
//! auth middleware that refuses a request without a token for an HTTP route, an event stream and a
//! WebSocket upgrade alike and hands the user on to each, three files run in the order of their
//! numbers, middleware that read the router's state and add response headers.

mod support;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use nitrous_tests::guarded::{self, GuardedState};
use support::Server;
use support::ws::{WAIT, text};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOKEN: &str = "Bearer secret-ada";

async fn start() -> Server {
    Server::start(guarded::router().with_state(GuardedState::with_ada())).await
}

/// `method path` with `authorization` if given.
async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("a response")
}

async fn get(server: &Server, path: &str, authorization: Option<&str>) -> reqwest::Response {
    send(server, reqwest::Method::GET, path, authorization).await
}

/// A WebSocket handshake to `path` with `authorization` if given: the client, or the status the
/// server refused with.
async fn upgrade(
    server: &Server,
    path: &str,
    authorization: Option<&str>,
) -> Result<
    (
        support::ws::Client,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    u16,
> {
    let mut request = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_str(value).unwrap());
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("a handshake within 5 s")
    {
        Ok(connected) => Ok(connected),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{path}: {other}"),
    }
}

#[tokio::test]
async fn without_a_known_token_http_sse_and_websocket_routes_are_refused_alike() {
    let server = start().await;
    for token in [None, Some("Bearer guessed")] {
        let me = get(&server, "/api/me", token).await;
        assert_eq!(me.status(), 401, "{token:?}");
        let feed = get(&server, "/api/feed", token).await;
        assert_eq!(feed.status(), 401, "{token:?}");
        assert_ne!(
            feed.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"text/event-stream"[..]),
            "the stream never started"
        );
        assert_eq!(upgrade(&server, "/ws/feed", token).await.err(), Some(401));
    }
    assert_eq!(
        get(&server, "/api/me", None).await.text().await.unwrap(),
        "no token"
    );
    // The chain runs before the method is picked: a method the route does not answer is refused
    // by the middleware first, and is a 405 only for a known user.
    let post = |token| send(&server, reqwest::Method::POST, "/api/me", token);
    assert_eq!(post(None).await.status(), 401);
    let not_allowed = post(Some(TOKEN)).await;
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(
        not_allowed.headers()["allow"],
        "GET,HEAD",
        "the route's own answer"
    );
    // A path no route matches is not the router's: the app's fallback answers it, without the
    // chain (here axum's default, 404).
    assert_eq!(get(&server, "/api/nothing-here", None).await.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn a_known_token_reaches_the_route_with_its_user_in_handlers_streams_and_upgrade() {
    let server = start().await;
    let me = get(&server, "/api/me", Some(TOKEN)).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.text().await.unwrap(), "hello ada");

    let feed = get(&server, "/api/feed", Some(TOKEN)).await;
    assert_eq!(feed.status(), 200);
    assert_eq!(feed.headers()["content-type"], "text/event-stream");
    let mut events = feed.bytes_stream().eventsource();
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream goes on")
        .expect("a well-formed event");
    assert_eq!(event.data, "for ada");

    let (mut socket, response) = upgrade(&server, "/ws/feed", Some(TOKEN))
        .await
        .expect("the upgrade");
    assert_eq!(text(&mut socket).await, "welcome ada", "read in `upgrade`");
    // The chain's response headers are on the 101 too.
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("server-timing"));
    drop(socket);
    server.stop().await;
}

#[tokio::test]
async fn three_middleware_files_run_in_the_order_of_their_numbers() {
    let server = start().await;
    let trail = get(&server, "/api/trail", Some(TOKEN)).await;
    assert_eq!(
        trail.text().await.unwrap(),
        "auth > request_id > timing",
        "1, 2, 10: by number, not by text (1, 10, 2)"
    );
    let chain: Vec<(&str, &str)> = guarded::ROUTES
        .middleware()
        .iter()
        .map(|m| (m.name(), m.file()))
        .collect();
    assert_eq!(
        chain,
        [
            ("auth", "src/guarded/middleware/1.auth.rs"),
            ("request_id", "src/guarded/middleware/2.request_id.rs"),
            ("timing", "src/guarded/middleware/10.timing.rs"),
        ]
    );
    let printed = guarded::ROUTES.to_string();
    assert!(
        printed.ends_with(
            "\nMIDDLEWARE  FILE\nauth        src/guarded/middleware/1.auth.rs\nrequest_id  src/guarded/middleware/2.request_id.rs\ntiming      src/guarded/middleware/10.timing.rs\n"
        ),
        "{printed}"
    );
    server.stop().await;
}

#[tokio::test]
async fn middleware_read_the_routers_state_and_add_response_headers() {
    let server = start().await;
    let mut ids = Vec::new();
    for path in ["/api/me", "/api/trail", "/api/me"] {
        let response = get(&server, path, Some(TOKEN)).await;
        assert_eq!(response.status(), 200);
        let timing = response.headers()["server-timing"].to_str().unwrap();
        let named = format!("route;desc=\"{path}\";dur=");
        assert!(timing.starts_with(&named), "the matched path: {timing}");
        ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        ids,
        ["1", "2", "3"],
        "counted in the state the router was given"
    );
    // A refusal comes from the first middleware: the later ones never ran, so add nothing.
    let refused = get(&server, "/api/me", None).await;
    assert!(!refused.headers().contains_key("x-request-id"));
    assert!(!refused.headers().contains_key("server-timing"));
    server.stop().await;
}
