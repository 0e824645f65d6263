//! Every file convention of the fixture app, served on a real socket and hit by a real HTTP client.

mod support;

use nitrous_tests::{AppState, api_layout, custom_prefix, router, unprefixed};
use reqwest::Method;
use support::{Server, get, request};

fn app() -> nitrous::axum::Router {
    router().with_state(AppState {
        greeting: "hi ",
        ..AppState::default()
    })
}

#[tokio::test]
async fn index_and_static_routes_answer_under_the_api_prefix() {
    let server = Server::start(app()).await;
    assert_eq!(get(&server.url("/api")).await, (200, "index".to_owned()));
    assert_eq!(
        get(&server.url("/api/users/me")).await,
        (200, "the current user".to_owned())
    );
    assert_eq!(
        get(&server.url("/api/stats")).await.0,
        200,
        "(admin) adds no segment"
    );
    // Without the prefix nothing is served: the seed layout puts HTTP routes under /api.
    assert_eq!(get(&server.url("/users/me")).await.0, 404);
    assert_eq!(get(&server.url("/")).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn params_arrive_under_the_names_in_the_file_names() {
    let server = Server::start(app()).await;
    assert_eq!(
        get(&server.url("/api/users/42")).await,
        (200, "user 42".to_owned())
    );
    assert_eq!(
        get(&server.url("/api/rust-lang/rust")).await,
        (200, "repo rust-lang/rust".to_owned())
    );
    assert_eq!(
        get(&server.url("/api/files/a/b/c.txt")).await,
        (200, "file a/b/c.txt".to_owned())
    );
    assert_eq!(
        get(&server.url("/api/blog/first")).await,
        (200, "post first".to_owned())
    );
    // `Path<u32>` rejects a non-number with axum's 400, not a panic.
    assert_eq!(
        request(Method::DELETE, &server.url("/api/users/7")).await,
        (200, "deleted user 7".to_owned())
    );
    assert_eq!(
        request(Method::DELETE, &server.url("/api/users/x")).await.0,
        400
    );
    server.stop().await;
}

#[tokio::test]
async fn precedence_is_static_then_param_then_catch_all() {
    let server = Server::start(app()).await;
    // users/me.rs > users/[id].rs > users/[...rest].rs > [...].rs
    assert_eq!(
        get(&server.url("/api/users/me")).await.1,
        "the current user"
    );
    assert_eq!(get(&server.url("/api/users/ada")).await.1, "user ada");
    assert_eq!(
        get(&server.url("/api/users/ada/posts")).await.1,
        "users catch-all ada/posts"
    );
    assert_eq!(
        get(&server.url("/api/users/me/posts/1")).await.1,
        "users catch-all me/posts/1"
    );
    // [org]/[repo].rs (two params) beats the root catch-all for two segments...
    assert_eq!(get(&server.url("/api/a/b")).await.1, "repo a/b");
    // ...and the root catch-all takes what nothing else matches.
    assert_eq!(get(&server.url("/api/a/b/c")).await.1, "catch-all a/b/c");
    assert_eq!(
        get(&server.url("/api/nowhere")).await.1,
        "catch-all nowhere"
    );
    // files/[...path].rs beats [...].rs because its first segment is static.
    assert_eq!(get(&server.url("/api/files/x")).await.1, "file x");
    server.stop().await;
}

#[tokio::test]
async fn a_file_that_answers_every_method_sends_no_empty_allow_header() {
    let server = Server::start(app()).await;
    for (method, path) in [
        (Method::GET, "/api/a/b/c"),
        (Method::POST, "/api/a/b/c"),
        (Method::DELETE, "/api/users/"),
    ] {
        let response = reqwest::Client::new()
            .request(method.clone(), server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{method}");
        assert!(
            response.headers().get("allow").is_none(),
            "{method}: allow {:?}",
            response.headers().get("allow")
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn each_method_suffix_restricts_its_file_to_that_method() {
    let server = Server::start(app()).await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"] {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(
            request(m, &server.url("/api/methods/probe")).await,
            (200, method.to_owned()),
            "{method}"
        );
    }
    let head = reqwest::Client::new()
        .head(server.url("/api/methods/probe"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["x-method"],
        "HEAD",
        "probe.head.rs answers HEAD, not probe.get.rs"
    );
    let connect = raw_request(&server, "CONNECT /api/methods/probe HTTP/1.1").await;
    assert!(connect.starts_with("HTTP/1.1 200"), "{connect}");
    assert!(
        connect.to_ascii_lowercase().contains("x-method: connect"),
        "{connect}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unmatched_methods_get_405_and_unknown_paths_404() {
    let server = Server::start(app()).await;
    let (status, _) = request(Method::PUT, &server.url("/api/hello")).await;
    assert_eq!(
        status, 405,
        "hello.get.rs and hello.post.rs answer GET and POST only"
    );
    let response = reqwest::Client::new()
        .put(server.url("/api/users/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let allow = response.headers()["allow"].to_str().unwrap();
    assert!(
        allow.contains("GET") && allow.contains("DELETE"),
        "allow: {allow}"
    );
    let api_layout = Server::start(api_layout::router()).await;
    assert_eq!(get(&api_layout.url("/nothing/here")).await.0, 404);
    server.stop().await;
    api_layout.stop().await;
}

#[tokio::test]
async fn suffix_files_and_handler_for_every_method() {
    let server = Server::start(app()).await;
    assert_eq!(
        get(&server.url("/api/hello")).await,
        (200, "hello from GET".to_owned())
    );
    let posted = reqwest::Client::new()
        .post(server.url("/api/hello"))
        .json(&serde_json::json!({ "x": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(
        posted.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({ "method": "POST", "got": { "x": 1 } })
    );
    // Bad JSON is axum's 4xx with a message, never a panic.
    let bad = reqwest::Client::new()
        .post(server.url("/api/hello"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // echo.rs: #[nitrous::get] takes GET, #[nitrous::handler] every other method.
    assert_eq!(
        get(&server.url("/api/echo")).await.1,
        "GET via #[nitrous::get]"
    );
    assert_eq!(
        request(Method::PATCH, &server.url("/api/echo")).await.1,
        "PATCH via #[nitrous::handler]"
    );
    assert_eq!(
        request(Method::DELETE, &server.url("/api/echo")).await.1,
        "DELETE via #[nitrous::handler]"
    );
    server.stop().await;
}

#[tokio::test]
async fn extractors_state_query_json_and_headers_work() {
    let server = Server::start(app()).await;
    let users: Vec<String> = reqwest::get(server.url("/api/users?limit=2"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users, ["hi ada", "hi grace"]);
    let created = reqwest::Client::new()
        .post(server.url("/api/users"))
        .json(&serde_json::json!({ "name": "ken" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.text().await.unwrap(), "created ken");
    assert_eq!(
        get(&server.url("/api/whoami")).await,
        (200, "127.0.0.1".to_owned()),
        "ConnectInfo"
    );
    let stats = reqwest::Client::new()
        .get(server.url("/api/stats"))
        .header("x-probe", "t1")
        .send()
        .await
        .unwrap();
    assert_eq!(stats.text().await.unwrap(), "stats for t1");
    server.stop().await;
}

#[tokio::test]
async fn a_routes_folder_with_an_api_subfolder_serves_plain_paths() {
    let server = Server::start(api_layout::router()).await;
    assert_eq!(get(&server.url("/")).await, (200, "home".to_owned()));
    assert_eq!(get(&server.url("/about")).await, (200, "about".to_owned()));
    assert_eq!(
        get(&server.url("/api/v1/hello")).await,
        (200, "api hello".to_owned())
    );
    assert_eq!(get(&server.url("/api/about")).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn the_prefix_is_configurable_and_can_be_turned_off() {
    let off = Server::start(unprefixed::router().with_state(AppState::default())).await;
    assert_eq!(get(&off.url("/")).await, (200, "index".to_owned()));
    assert_eq!(
        get(&off.url("/users/42")).await,
        (200, "user 42".to_owned())
    );
    let v2 = Server::start(custom_prefix::router()).await;
    assert_eq!(get(&v2.url("/v2")).await, (200, "home".to_owned()));
    assert_eq!(
        get(&v2.url("/v2/api/v1/hello")).await,
        (200, "api hello".to_owned())
    );
    assert_eq!(get(&v2.url("/about")).await.0, 404);
    off.stop().await;
    v2.stop().await;
}

#[test]
fn the_route_table_lists_every_route_in_match_order() {
    let table = nitrous_tests::ROUTES.to_string();
    let paths: Vec<(&str, &str)> = nitrous_tests::ROUTES
        .iter()
        .map(|r| (r.method(), r.path()))
        .collect();
    let position = |p: &str| {
        paths
            .iter()
            .position(|(_, path)| *path == p)
            .unwrap_or_else(|| panic!("{p} in {table}"))
    };
    assert!(position("/api/users/me") < position("/api/users/{id}"));
    assert!(position("/api/users/{id}") < position("/api/users/{*rest}"));
    assert!(position("/api/users/{*rest}") < position("/api/{*_}"));
    let row = nitrous_tests::ROUTES
        .iter()
        .find(|r| r.path() == "/api/users/{id}" && r.method() == "DELETE")
        .unwrap();
    assert_eq!(row.file(), "src/server/routes/users/[id].rs");
    assert_eq!(row.kind(), nitrous::RouteKind::Http);
    assert!(
        table.lines().next().unwrap().starts_with("METHOD"),
        "{table}"
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec!["*", "/api/echo", "http", "src/server/routes/echo.rs"]),
        "{table}"
    );
    // Types in route files are nameable through the mirrored module tree.
    let _: nitrous_tests::routes::blog::Post = nitrous_tests::routes::blog::Post { slug: "x" };
}

/// Sends one request line by hand (reqwest will not send `CONNECT` with a path) and returns the
/// whole response.
async fn raw_request(server: &Server, line: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "{line}\r\nhost: {}\r\nconnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
