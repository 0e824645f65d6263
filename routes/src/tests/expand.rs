//! Snapshots of the generated code, made in-process: expand, parse as a file, pretty-print.
//! The routes root is passed relative to this crate, so snapshots hold no absolute paths.

use std::path::PathBuf;

use quote::quote;

use crate::expand::{self, BuildScript, Context};

fn context(build_script: BuildScript) -> Context {
    Context {
        manifest_dir: PathBuf::from("fixtures"),
        call_dir: None,
        build_script,
    }
}

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("generated code parses as a file");
    prettyplease::unparse(&file)
}

fn expand(input: proc_macro2::TokenStream, build_script: BuildScript) -> String {
    pretty(expand::routes(input, &context(build_script)).expect("arguments parse"))
}

#[test]
fn a_tree_with_a_file_beside_its_folder_and_a_layered_catch_all() {
    let code = expand(
        quote!(dir = "basic/routes", state = crate::AppState),
        BuildScript::Unknown,
    );
    insta::assert_snapshot!(code);
}

#[test]
fn an_api_folder_turns_the_prefix_off() {
    let code = expand(quote!(dir = "api_layout/routes"), BuildScript::Unknown);
    assert!(
        code.contains(r#""/","#) && code.contains(r#""/api/hello","#),
        "{code}"
    );
    insta::assert_snapshot!(code);
}

#[test]
fn a_prefix_in_the_call_wins() {
    let code = expand(
        quote!(dir = "api_layout/routes", prefix = "/v2"),
        BuildScript::Unknown,
    );
    assert!(
        code.contains(r#""/v2","#) && code.contains(r#""/v2/api/hello","#),
        "{code}"
    );
}

#[test]
fn a_middleware_folder_puts_every_route_behind_its_chain() {
    let code = expand(
        quote!(dir = "chained/routes", state = crate::AppState),
        BuildScript::Unknown,
    );
    insta::assert_snapshot!(code);
}

#[test]
fn every_problem_is_reported_beside_a_stub_router() {
    let code = expand(quote!(dir = "errors/routes"), BuildScript::Unknown);
    insta::assert_snapshot!(code);
}

#[test]
fn a_missing_build_script_is_advised_with_the_line_to_add() {
    let code = expand(quote!(dir = "api_layout/routes"), BuildScript::Missing);
    assert!(
        code.contains(r#"println!(\"cargo::rerun-if-changed=api_layout/routes\")"#),
        "{code}"
    );
    let watched = BuildScript::Found(
        "fn main() { println!(\"cargo::rerun-if-changed=api_layout/routes\"); }".into(),
    );
    assert!(!expand(quote!(dir = "api_layout/routes"), watched).contains("deprecated"));
    let unwatched = BuildScript::Found("fn main() {}".into());
    assert!(
        expand(quote!(dir = "api_layout/routes"), unwatched)
            .contains("build.rs does not tell cargo")
    );
}

#[test]
fn argument_errors_are_spanned_and_all_reported() {
    let error = expand::routes(
        quote!(dir = "a", dir = "b", prefix = "api/", colour = 1),
        &context(BuildScript::Unknown),
    );
    let message = error
        .expect_err("bad arguments fail")
        .to_compile_error()
        .to_string();
    assert!(message.contains("unknown argument `colour`"), "{message}");
    let error = expand::routes(
        quote!(dir = "a", dir = "b", prefix = "api/"),
        &context(BuildScript::Unknown),
    );
    let message = error
        .expect_err("bad arguments fail")
        .to_compile_error()
        .to_string();
    assert!(message.contains("`dir` is given twice"), "{message}");
    assert!(
        message.contains("prefix `api/` must start with `/`"),
        "{message}"
    );
}

#[test]
fn a_missing_folder_says_where_it_looked() {
    let error = expand::routes(quote!(dir = "nowhere"), &context(BuildScript::Unknown));
    let message = error.expect_err("missing folder fails").to_string();
    assert!(
        message.contains("the routes folder does not exist"),
        "{message}"
    );
    assert!(message.contains("`nowhere`"), "{message}");
}

#[test]
fn the_stub_beside_an_argument_error_keeps_the_state_type() {
    let input = quote!(prefix = "api/", state = crate::AppState);
    let state = crate::args::state_of(input).expect("state found");
    assert_eq!(
        quote::ToTokens::to_token_stream(&state).to_string(),
        "crate :: AppState"
    );
    assert!(crate::args::state_of(quote!(dir = "x")).is_none());
}
