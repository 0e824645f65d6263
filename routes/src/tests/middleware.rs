//! The middleware folder: file names to order keys and modules, and a folder's chain, checked.

use std::path::Path;

use quote::quote;

use crate::args::Args;
use crate::expand::{self, BuildScript, Context};
use crate::folder::{self, Folder};
use crate::middleware::{self, MiddlewareName};

fn name(rel: &str) -> MiddlewareName {
    middleware::parse(rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn problem(rel: &str) -> String {
    match middleware::parse(rel) {
        Ok(name) => panic!("{rel} is accepted: {name:?}"),
        Err(problem) => problem,
    }
}

#[test]
fn a_file_is_its_order_key_and_its_name() {
    let auth = name("01.auth.rs");
    assert_eq!(auth.order.map(|o| o.to_string()).as_deref(), Some("1"));
    assert_eq!(auth.module, "auth");
    let log = name("log.rs");
    assert_eq!(log.order, None);
    assert_eq!(log.module, "log");
    assert_eq!(name("2.request-id.rs").module, "request_id");
    assert_eq!(name("10.type.rs").module, "type_");
    assert_eq!(
        name("000.first.rs").order.map(|o| o.to_string()).as_deref(),
        Some("0")
    );
}

#[test]
fn a_name_that_breaks_the_shape_says_the_shape() {
    for (rel, says) in [
        ("auth.txt", "not a Rust file"),
        ("nested/1.auth.rs", "sit directly in the middleware folder"),
        ("a.auth.rs", "`a` is not a number"),
        ("1.auth.extra.rs", "more than one `.`"),
        ("01.rs", "has an order and no name"),
        ("1..rs", "has no name"),
    ] {
        let problem = problem(rel);
        assert!(problem.contains(says), "{rel}: {problem}");
        assert!(
            rel.ends_with(".txt") || problem.contains("ORDER.NAME.rs"),
            "the shape: {problem}"
        );
    }
}

#[test]
fn order_keys_compare_as_numbers_of_any_length() {
    let order = |rel: &str| name(rel).order.expect("a key");
    assert!(order("2.a.rs") < order("10.a.rs"));
    assert!(order("9.a.rs") < order("09999999999999999999999999.a.rs"));
    assert_eq!(order("007.a.rs"), order("7.a.rs"));
    assert!(order("12.a.rs") < order("21.a.rs"));
}

fn context() -> Context {
    Context {
        manifest_dir: "fixtures".into(),
        call_dir: None,
        build_script: BuildScript::Unknown,
    }
}

fn folder(input: proc_macro2::TokenStream) -> Folder {
    let args: Args = syn::parse2(input).expect("arguments parse");
    folder::read_folder(&args, &context()).expect("the folders exist")
}

#[test]
fn a_routes_folder_named_routes_implies_the_middleware_folder_beside_it() {
    let folder = folder(quote!(dir = "chained/routes", state = crate::AppState));
    assert!(folder.errors.is_empty(), "{:?}", folder.errors);
    let middleware = folder.middleware.expect("chained/middleware");
    assert_eq!(middleware.shown_root, "chained/middleware");
    let chain: Vec<(&str, &str)> = middleware
        .chain
        .links()
        .map(|link| (link.file.rel.as_str(), link.function))
        .collect();
    assert_eq!(
        chain,
        [("01.auth.rs", "auth"), ("02.request-id.rs", "request_id")]
    );
    // Any other name implies none: a crate's own `src/middleware` module is not a folder of
    // middleware files.
    let api = self::folder(quote!(dir = "api_layout/routes/api"));
    assert!(api.middleware.is_none());
}

#[test]
fn a_middleware_folder_named_in_the_call_must_exist() {
    let args: Args = syn::parse2(quote!(dir = "basic/routes", middleware = "nowhere")).unwrap();
    let error = folder::read_folder(&args, &context()).expect_err("no such folder");
    let message = error.to_string();
    assert!(
        message.contains("the middleware folder does not exist")
            && message.contains("routes!(middleware = \"...\")"),
        "{message}"
    );
    let named = folder(quote!(
        dir = "basic/routes",
        middleware = "chained/middleware"
    ));
    assert_eq!(named.middleware.expect("named").chain.links().count(), 2);
}

#[test]
fn every_problem_of_a_folder_is_reported_with_its_file_and_fix() {
    let folder = folder(quote!(dir = "chain_errors/routes"));
    let errors = folder.errors.join("\n");
    let shown = |rel: &str| format!("chain_errors/middleware/{rel}");
    for (file, says) in [
        (shown("README.md"), "is not a Rust file"),
        (
            shown("nested/4.deep.rs"),
            "sit directly in the middleware folder",
        ),
        (shown("a.b.rs"), "`a` is not a number"),
        (shown("2.empty.rs"), "defines no middleware"),
        (
            shown("01.log.rs"),
            "`log` and `log_again` are both middleware",
        ),
        (shown("3.auth.rs"), "`page` is a route handler"),
        (
            format!("{} and {}", shown("01.log.rs"), shown("1.auth.rs")),
            "have the same order key, 1",
        ),
        (
            format!("{} and {}", shown("1.auth.rs"), shown("3.auth.rs")),
            "would both be the module `middleware::auth`",
        ),
        (
            "chain_errors/routes/hello.get.rs".to_owned(),
            "`stray` is a middleware",
        ),
    ] {
        assert!(
            folder
                .errors
                .iter()
                .any(|e| e.contains(&file) && e.contains(says)),
            "no error for {file}: {says} in\n{errors}"
        );
    }
    assert_eq!(folder.errors.len(), 9, "{errors}");
}

#[test]
fn a_state_a_middleware_takes_is_a_state_the_call_must_name() {
    let folder = folder(quote!(dir = "chained/routes"));
    let [error] = folder.errors.as_slice() else {
        panic!("{:?}", folder.errors)
    };
    assert!(
        error.contains("chained/middleware/01.auth.rs needs one")
            && error.contains("`auth` takes `State<crate::AppState>`"),
        "{error}"
    );
}

#[test]
fn the_build_script_must_watch_the_middleware_folder_too() {
    let expand = |build_script: &str| {
        let context = Context {
            manifest_dir: "fixtures".into(),
            call_dir: None,
            build_script: BuildScript::Found(build_script.to_owned()),
        };
        expand::routes(
            quote!(dir = "chained/routes", state = crate::AppState),
            &context,
        )
        .expect("arguments parse")
        .to_string()
    };
    let routes_only = expand(r#"println!("cargo::rerun-if-changed=chained/routes");"#);
    assert!(
        routes_only.contains("watch `chained/middleware`")
            && !routes_only.contains("watch `chained/routes`")
            && routes_only.contains("cargo::rerun-if-changed=chained/middleware"),
        "{routes_only}"
    );
    let both = expand(
        r#"println!("cargo::rerun-if-changed=chained/routes"); println!("cargo::rerun-if-changed=chained/middleware");"#,
    );
    assert!(!both.contains("deprecated"), "{both}");
    let parent = expand(r#"println!("cargo::rerun-if-changed=chained");"#);
    assert!(
        !parent.contains("deprecated"),
        "a folder holding both: {parent}"
    );
    let sibling = expand(r#"println!("cargo::rerun-if-changed=chain");"#);
    assert!(
        sibling.contains("deprecated"),
        "a prefix of the name is not a folder: {sibling}"
    );
}

#[test]
fn the_table_lists_the_chain_after_the_routes() {
    let listed = crate::listing::list(
        quote!(dir = "chained/routes", state = crate::AppState),
        Path::new("fixtures"),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listed.to_string(),
        "METHOD  PATH        KIND  FILE\n\
         GET     /api/hello  http  chained/routes/hello.get.rs\n\
         GET     /ws/live    ws    chained/routes/ws/live.rs\n\
         \n\
         MIDDLEWARE  FILE\n\
         auth        chained/middleware/01.auth.rs\n\
         request_id  chained/middleware/02.request-id.rs\n"
    );
}
