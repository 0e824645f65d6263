//! Procedural macros of [nitrous](https://docs.rs/nitrous). Use them through `nitrous`:
//! `nitrous::routes!()`, `#[nitrous::get]` and its siblings, `#[nitrous::middleware]`.
//!
//! This crate only adapts `proc_macro` to plain functions on `proc_macro2`: the route model and
//! the code `routes!` generates are in `nitrous-routes` (shared with `cargo nitrous`), the handler
//! attributes in the modules here.

mod handler;
mod middleware;
mod sse;

use nitrous_routes::{args, expand};

use proc_macro::TokenStream;

#[doc = include_str!("../docs/routes.md")]
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    let context = context();
    let input = proc_macro2::TokenStream::from(input);
    expand::routes(input.clone(), &context)
        .unwrap_or_else(|e| {
            let mut out = e.to_compile_error();
            let state = match args::state_of(input) {
                Some(state) => quote::quote!(#state),
                None => quote::quote!(()),
            };
            out.extend(expand::stub(&state));
            out
        })
        .into()
}

fn context() -> expand::Context {
    let manifest_dir: std::path::PathBuf = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(Into::into)
        .unwrap_or_default();
    let call_dir = proc_macro::Span::call_site().local_file().and_then(|file| {
        file.parent()
            .map(|dir| manifest_dir_join(&manifest_dir, dir))
    });
    let build_script = if !has_build_script() {
        expand::BuildScript::Missing
    } else {
        match std::fs::read_to_string(manifest_dir_join(&manifest_dir, "build.rs".as_ref())) {
            Ok(text) => expand::BuildScript::Found(text),
            Err(_) => expand::BuildScript::Unknown,
        }
    };
    expand::Context {
        manifest_dir,
        call_dir,
        build_script,
    }
}

/// Cargo sets `OUT_DIR` for a crate with a build script, under a folder named after the package.
/// (The name check keeps an `OUT_DIR` inherited from an outer cargo, as in a test that runs
/// cargo, from counting.)
fn has_build_script() -> bool {
    let (Some(out_dir), Ok(package)) =
        (std::env::var_os("OUT_DIR"), std::env::var("CARGO_PKG_NAME"))
    else {
        return false;
    };
    std::path::Path::new(&out_dir).components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|c| c == package || c.starts_with(&format!("{package}-")))
    })
}

/// rustc reports the calling file relative to where it runs (the workspace root for members).
fn manifest_dir_join(manifest_dir: &std::path::Path, path: &std::path::Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| manifest_dir.to_path_buf())
            .join(path)
    }
}

/// Makes a `pub async fn` in a route file the route's Server-Sent-Events endpoint (GET,
/// `text/event-stream`). It takes any axum extractors and returns a `nitrous::sse::EventStream` or
/// any `Stream` of `nitrous::sse::Event`s. Like the handler attributes, it checks each argument
/// against the router's state, so it works in route files only.
#[proc_macro_attribute]
pub fn sse(args: TokenStream, item: TokenStream) -> TokenStream {
    sse::expand(args.into(), item.into()).into()
}

/// Makes a `pub async fn` in a middleware file (`src/server/middleware/01.auth.rs`) the
/// middleware that runs before every route of the router, in the order of the files' names. It is
/// an axum `from_fn` function: any extractors (`State<AppState>`, `HeaderMap`, ...), then the
/// request and `Next`; it returns a response, the route's (`next.run(request).await`) or its own.
///
/// It checks that the function is a `pub async fn` and each argument, reporting a mistake at its
/// argument. The state comes from the `routes!` call that runs the folder, so the attribute works
/// in middleware files only.
#[proc_macro_attribute]
pub fn middleware(args: TokenStream, item: TokenStream) -> TokenStream {
    middleware::attribute(args.into(), item.into()).into()
}

macro_rules! handler_attributes {
    ($($name:ident: $doc:literal,)*) => {$(
        #[doc = $doc]
        ///
        /// It checks that the function is a `pub async fn` and that each argument is an axum
        /// extractor on the router's state, reporting a mistake at its argument. The state comes
        /// from the `routes!` call that mounts the file, so the attribute works in route files
        /// only (elsewhere: "cannot find type `__NitrousState` in module `super`").
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            handler::attribute(stringify!($name), args.into(), item.into()).into()
        }
    )*};
}

handler_attributes! {
    get: "Marks a `pub async fn` in a route file as the route's `GET` handler (also answering `HEAD` unless a `head` handler exists).",
    post: "Marks a `pub async fn` in a route file as the route's `POST` handler.",
    put: "Marks a `pub async fn` in a route file as the route's `PUT` handler.",
    patch: "Marks a `pub async fn` in a route file as the route's `PATCH` handler.",
    delete: "Marks a `pub async fn` in a route file as the route's `DELETE` handler.",
    head: "Marks a `pub async fn` in a route file as the route's `HEAD` handler.",
    options: "Marks a `pub async fn` in a route file as the route's `OPTIONS` handler.",
    connect: "Marks a `pub async fn` in a route file as the route's `CONNECT` handler.",
    trace: "Marks a `pub async fn` in a route file as the route's `TRACE` handler.",
    handler: "Marks a `pub async fn` in a route file as the handler of every method that no other handler of the route takes (only the suffix method in a `NAME.METHOD.rs` file).",
}
