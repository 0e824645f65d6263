//! `#[nitrous::get]` and its siblings: markers that `routes!` reads from the file's syntax. The
//! attribute itself checks the function at its own span and returns it unchanged.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Checks that `item` is a handler `routes!` can call: a `pub async fn` and no attribute arguments.
pub fn attribute(name: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors: Vec<syn::Error> = Vec::new();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &args,
            format!(
                "`#[nitrous::{name}]` takes no arguments; the route comes from the file's path"
            ),
        ));
    }
    match syn::parse2::<syn::ItemFn>(item.clone()) {
        Err(_) => errors.push(syn::Error::new_spanned(
            &item,
            format!("`#[nitrous::{name}]` goes on an `async fn` in a route file"),
        )),
        Ok(function) => {
            if function.sig.asyncness.is_none() {
                errors.push(syn::Error::new_spanned(
                    function.sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` handlers are `async fn`s: write `pub async fn {}`",
                        function.sig.ident
                    ),
                ));
            }
            if matches!(function.vis, syn::Visibility::Inherited) {
                errors.push(syn::Error::new_spanned(
                    function.sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` handlers must be `pub`, since the generated router calls them from outside this module: write `pub async fn {}`",
                        function.sig.ident
                    ),
                ));
            }
        }
    }
    let mut out = item;
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out.into_token_stream()
}
