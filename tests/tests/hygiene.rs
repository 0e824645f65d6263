//! `routes!` expands in a scope that shadows the prelude and common crate names: generated code
//! names only `::nitrous::__private::...` and `::core::...`, so it still compiles and serves, its
//! middleware chain (`hygiene/middleware`) included.

mod support;

#[allow(
    dead_code,
    unused_macros,
    non_camel_case_types,
    clippy::upper_case_acronyms
)]
mod shadowed {
    type Result = ();
    type Option = ();
    struct Ok;
    struct Err;
    struct Some;
    struct None;
    struct Router;
    struct MethodRouter;
    struct String;
    struct CHAIN;
    mod axum {}
    mod tokio {}
    mod std {}
    mod core {}
    mod alloc {}
    mod __private {}
    macro_rules! concat {
        () => {};
    }

    nitrous::routes!(dir = "./hygiene/routes");
}

#[tokio::test]
async fn the_router_built_in_a_shadowed_scope_serves() {
    let server = support::Server::start(shadowed::router()).await;
    assert_eq!(
        support::get(&server.url("/api")).await,
        (200, "hygienic".to_owned())
    );
    let response = reqwest::get(server.url("/api/7"))
        .await
        .expect("a response");
    assert_eq!(response.headers()["x-hygiene"], "chained");
    assert_eq!(
        support::get(&server.url("/api/7")).await,
        (200, "item 7".to_owned())
    );
    assert_eq!(shadowed::ROUTES.len(), 2);
    assert_eq!(shadowed::ROUTES.middleware().len(), 1);
    server.stop().await;
}
