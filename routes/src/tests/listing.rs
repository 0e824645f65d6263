//! The listing `cargo nitrous routes` prints: the macro's own table, found from the sources.

use std::path::Path;

use quote::quote;

use crate::expand::{self, BuildScript, Context};
use crate::listing::{self, ListError};
use crate::table::{MiddlewareInfo, RouteInfo, RouteKind, RouteTable};

/// `ROUTES` as `routes!(input)` generates it for `crate_dir`, printed as an app prints it.
fn expanded_table(input: proc_macro2::TokenStream, crate_dir: &Path) -> String {
    let context = Context {
        manifest_dir: crate_dir.to_path_buf(),
        call_dir: None,
        build_script: BuildScript::Unknown,
    };
    let code = expand::routes(input, &context).expect("arguments parse");
    let file: syn::File = syn::parse2(code).expect("the expansion parses");
    let routes = file
        .items
        .into_iter()
        .find_map(|item| match item {
            syn::Item::Static(item) if item.ident == "ROUTES" => Some(*item.expr),
            _ => None,
        })
        .expect("the expansion has ROUTES");
    // `RouteTable::new(&[..])`, with `.with_middleware(&[..])` when there is a chain.
    let (routes, middleware) = match routes {
        syn::Expr::MethodCall(call) if call.method == "with_middleware" => {
            (*call.receiver, call.args.into_iter().next())
        }
        routes => (routes, None),
    };
    let syn::Expr::Call(call) = routes else {
        panic!("ROUTES is not RouteTable::new(..)")
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let text = |e: &syn::Expr| match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => leak(s.value()),
        other => panic!("not a string: {}", quote!(#other)),
    };
    let rows: Vec<RouteInfo> = calls(call.args.into_iter().next())
        .into_iter()
        .map(|args| {
            let kind = match &args[2] {
                syn::Expr::Path(kind) => kind.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            let kind = match kind.as_deref() {
                Some("Http") => RouteKind::Http,
                Some("WebSocket") => RouteKind::WebSocket,
                Some("Sse") => RouteKind::Sse,
                Some("Channel") => RouteKind::Channel,
                _ => panic!("unknown kind in {}", quote!(#(#args),*)),
            };
            RouteInfo::new(text(&args[0]), text(&args[1]), kind, text(&args[3]))
        })
        .collect();
    let chain: Vec<MiddlewareInfo> = middleware
        .map(|array| calls(Some(array)))
        .unwrap_or_default()
        .into_iter()
        .map(|args| MiddlewareInfo::new(text(&args[0]), text(&args[1])))
        .collect();
    RouteTable::new(Box::leak(rows.into_boxed_slice()))
        .with_middleware(Box::leak(chain.into_boxed_slice()))
        .to_string()
}

/// The arguments of each `Type::new(..)` in `&[..]`.
fn calls(array: Option<syn::Expr>) -> Vec<Vec<syn::Expr>> {
    let Some(syn::Expr::Reference(reference)) = array else {
        panic!("a table takes &[..]")
    };
    let syn::Expr::Array(array) = *reference.expr else {
        panic!("a table takes &[..]")
    };
    array
        .elems
        .into_iter()
        .map(|row| {
            let syn::Expr::Call(call) = row else {
                panic!("not a call: {}", quote!(#row))
            };
            call.args.into_iter().collect()
        })
        .collect()
}

#[test]
fn lists_what_the_generated_routes_display() {
    let fixtures = Path::new("fixtures");
    for input in [
        quote!(dir = "basic/routes", state = crate::AppState),
        quote!(dir = "api_layout/routes"),
        quote!(dir = "basic/routes", prefix = ""),
        quote!(dir = "chained/routes", state = crate::AppState),
    ] {
        let listed = listing::list(input.clone(), fixtures, None)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string();
        assert_eq!(listed, expanded_table(input, fixtures));
    }
}

#[test]
fn lists_in_match_order_with_the_file_as_the_call_names_it() {
    let listed = listing::list(quote!(dir = "basic/routes"), Path::new("fixtures"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<[&str; 4]> = listed
        .rows()
        .iter()
        .map(|r| r.each_ref().map(String::as_str))
        .collect();
    let at = |method: &str, path: &str| {
        rows.iter()
            .position(|r| r[..2] == [method, path])
            .unwrap_or_else(|| panic!("no {method} {path} in\n{listed}"))
    };
    let show = at("GET", "/api/users/{id}");
    assert_eq!(
        rows[show],
        [
            "GET",
            "/api/users/{id}",
            "http",
            "basic/routes/users/[id].rs"
        ]
    );
    assert!(at("GET", "/api/users") < show, "{listed}");
    assert!(show < at("*", "/api/users/{*rest}"), "{listed}");
    assert_eq!(
        listed
            .to_string()
            .lines()
            .next()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>),
        Some(vec!["METHOD", "PATH", "KIND", "FILE"])
    );
}

#[test]
fn reports_every_problem_as_the_macro_does() {
    let err = listing::list(quote!(dir = "errors/routes"), Path::new("fixtures"), None)
        .expect_err("the errors fixture has errors");
    let ListError::Routes(errors) = &err else {
        panic!("expected route errors, got {err:?}")
    };
    let context = Context {
        manifest_dir: "fixtures".into(),
        call_dir: None,
        build_script: BuildScript::Unknown,
    };
    let code = expand::routes(quote!(dir = "errors/routes"), &context)
        .expect("arguments parse")
        .to_string();
    for error in errors {
        let literal = proc_macro2::Literal::string(error).to_string();
        assert!(code.contains(&literal), "the macro does not report {error}");
    }
    assert!(errors.len() >= 5, "{err}");
    assert!(
        err.to_string().lines().all(|l| l.starts_with("error: ")),
        "{err}"
    );
}

#[test]
fn argument_and_folder_errors_carry_the_macro_message() {
    let missing = listing::list(quote!(dir = "nowhere"), Path::new("fixtures"), None);
    assert!(
        matches!(&missing, Err(ListError::Call(e)) if e.to_string().contains("does not exist")),
        "{missing:?}"
    );
    let bad = listing::list(quote!(prefix = "api"), Path::new("fixtures"), None);
    assert!(matches!(bad, Err(ListError::Call(_))), "{bad:?}");
}

#[test]
fn finds_calls_at_any_depth_and_nothing_else() {
    let text = r#"
        nitrous::routes!(state = AppState);
        mod v2 { nitrous::routes!(dir = "src/v2", prefix = "/v2"); }
        fn routes() {}
        macro_rules! routes { () => {} }
        fn main() { let s = "routes!(dir = \"nope\")"; routes!(); }
    "#;
    let calls: Vec<String> = listing::calls_in(text)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        calls,
        [
            "state = AppState",
            "dir = \"src/v2\" , prefix = \"/v2\"",
            ""
        ]
    );
    assert!(listing::calls_in("fn broken( {").is_empty());
}

#[test]
fn finds_the_calls_of_a_crate_in_path_order() {
    let dir = std::env::temp_dir().join(format!("nitrous-routes-calls-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("server")).unwrap();
    std::fs::write(src.join("main.rs"), "nitrous::routes!();\n").unwrap();
    std::fs::write(
        src.join("server/v2.rs"),
        "nitrous::routes!(prefix = \"/v2\");\n",
    )
    .unwrap();
    std::fs::write(src.join("notes.txt"), "routes!(dir = \"x\")\n").unwrap();
    let calls = listing::find_calls(&dir);
    let found: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            let file = c
                .file
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (file, c.input.to_string())
        })
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        found,
        [
            ("src/main.rs".to_owned(), String::new()),
            ("src/server/v2.rs".to_owned(), "prefix = \"/v2\"".to_owned())
        ]
    );
}
