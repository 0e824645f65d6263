//! `#[nitrous::sse]`: wraps an `async fn` returning an `EventStream` (or any `Stream` of events)
//! into an axum handler that answers `text/event-stream` and ends the stream on server shutdown.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use crate::handler;
use nitrous_routes::paths;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let checked = handler::attribute("sse", args, item.clone());
    let Ok(function) = syn::parse2::<syn::ItemFn>(item) else {
        return checked; // not a parsable fn: the checks above or rustc say why
    };
    if checked.to_string().contains("compile_error") {
        return checked;
    }
    if !function.sig.generics.params.is_empty() {
        return syn::Error::new_spanned(
            &function.sig.generics,
            "`#[nitrous::sse]` functions cannot be generic",
        )
        .to_compile_error();
    }
    let syn::ItemFn {
        attrs,
        vis,
        sig,
        block,
        .. // `default fn` (specialization) cannot reach a free function
    } = function;
    let (docs, others): (Vec<_>, Vec<_>) =
        attrs.into_iter().partition(|a| a.path().is_ident("doc"));
    let name = &sig.ident;
    let inner = format_ident!("__nitrous_sse_{}", name);
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner.clone();
    let mut outer_args = Vec::new();
    let mut call_args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            syn::FnArg::Typed(arg) => {
                let ident = syn::Ident::new(&format!("__nitrous_arg{i}"), Span::mixed_site());
                let ty = &arg.ty;
                outer_args.push(quote!(#ident: #ty));
                call_args.push(ident);
            }
            syn::FnArg::Receiver(receiver) => {
                return syn::Error::new_spanned(
                    receiver,
                    "`#[nitrous::sse]` goes on a free function, not a method",
                )
                .to_compile_error();
            }
        }
    }
    let shutdown = syn::Ident::new("__nitrous_shutdown", Span::mixed_site());
    let private = paths::private();
    quote! {
        #(#docs)*
        // The shutdown signal comes first: only the last extractor may read the body.
        #vis async fn #name(#shutdown: #private::SseShutdown, #(#outer_args),*) -> #private::Response {
            #(#others)*
            #[allow(clippy::too_many_arguments)]
            #inner_sig #block
            #private::sse_respond(#inner(#(#call_args),*).await, #shutdown)
        }
    }
}
