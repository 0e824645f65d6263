//! `#[nitrous::get]` and its siblings: markers that `routes!` reads from the file's syntax. The
//! attribute itself checks the function at its own span and returns it unchanged.

use nitrous_routes::paths;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

/// `item`, unchanged, with an error beside it for each way it is not a handler `routes!` can call,
/// and a check of each argument against the router's state.
pub(crate) fn attribute(name: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = check(name, &args, &item);
    let checks = if errors.is_empty() {
        syn::parse2::<Signature>(item.clone())
            .map(|s| argument_checks(&s.sig))
            .unwrap_or_default()
    } else {
        TokenStream::new()
    };
    let mut out = item;
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out.extend(checks);
    out.into_token_stream()
}

/// A check that each argument is an extractor on the router's state, spanned at the argument's
/// type, so that a mistake is reported there in words (axum's `#[debug_handler]` does the same).
/// The state is `super::__NitrousState`, which `routes!` declares beside every route module.
///
/// `State<T>` arguments are left to `routes!`, which reports a missing `state = T` once for the
/// whole call; a generic handler is left to rustc.
pub(crate) fn argument_checks(sig: &syn::Signature) -> TokenStream {
    if !sig.generics.params.is_empty() {
        return TokenStream::new();
    }
    let types: Vec<&syn::Type> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(arg) => Some(&*arg.ty),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    let private = paths::private();
    let last = types.len().saturating_sub(1);
    let calls = types
        .iter()
        .enumerate()
        .filter(|(_, ty)| !is_state(ty))
        .map(|(i, ty)| {
            if i == last {
                quote_spanned!(ty.span()=> #private::last_argument::<#ty, super::__NitrousState, _>();)
            } else {
                quote_spanned!(ty.span()=> #private::head_argument::<#ty, super::__NitrousState>();)
            }
        })
        .collect::<TokenStream>();
    if calls.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            #[allow(dead_code, clippy::all)]
            fn __nitrous_arguments() {
                #calls
            }
        };
    }
}

/// `State<T>`, however its path is written.
fn is_state(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "State"))
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
