//! `#[nitrous::get]` and its siblings: markers that `routes!` reads from the file's syntax. The
//! attribute itself checks the function at its own span and returns it unchanged.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// `item`, unchanged, with an error beside it for each way it is not a handler `routes!` can call.
pub(crate) fn attribute(name: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = check(name, &args, &item);
    let mut out = item;
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out.into_token_stream()
}

/// Every way `item` is not a handler `routes!` can call (a `pub async fn`, no attribute
/// arguments); empty when it is one.
pub(crate) fn check(name: &str, args: &TokenStream, item: &TokenStream) -> Vec<syn::Error> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            args,
            format!(
                "`#[nitrous::{name}]` takes no arguments; the route comes from the file's path"
            ),
        ));
    }
    match syn::parse2::<Signature>(item.clone()) {
        // Not even a signature: an attribute on something else. (A body with a syntax error still
        // parses here; rustc reports that error at its line, and nitrous adds none.)
        Err(_) => errors.push(syn::Error::new_spanned(
            item,
            format!("`#[nitrous::{name}]` goes on an `async fn` in a route file"),
        )),
        Ok(Signature { vis, sig }) => {
            if sig.asyncness.is_none() {
                errors.push(syn::Error::new_spanned(
                    sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` handlers are `async fn`s: write `pub async fn {}`",
                        sig.ident
                    ),
                ));
            }
            if matches!(vis, syn::Visibility::Inherited) {
                errors.push(syn::Error::new_spanned(
                    sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` handlers must be `pub`, since the generated router calls them from outside this module: write `pub async fn {}`",
                        sig.ident
                    ),
                ));
            }
        }
    }
    errors
}

/// A function's visibility and signature; the body is not parsed.
struct Signature {
    vis: syn::Visibility,
    sig: syn::Signature,
}

impl syn::parse::Parse for Signature {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        input.parse::<TokenStream>()?;
        Ok(Signature { vis, sig })
    }
}
