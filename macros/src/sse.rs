//! `#[nitrous::sse]`: wraps an `async fn` returning an `EventStream` (or any `Stream` of events)
//! into an axum handler that answers `text/event-stream` and ends the stream on server shutdown.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use crate::handler;
use nitrous_routes::{classify, paths};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    // `data = T`: the events' data type, for `cargo nitrous types`; it must name a type.
    let data = if args.is_empty() {
        None
    } else {
        match syn::parse::Parser::parse2(classify::data_argument, args.clone()) {
            Ok((name, ty)) if name == "data" => Some(ty),
            _ => {
                return syn::Error::new_spanned(
                    &args,
                    "`#[nitrous::sse]` takes one optional argument, `data = Type`: the type of its events' data, for `cargo nitrous types`",
                )
                .to_compile_error();
            }
        }
    };
    let errors = handler::check("sse", handler::Marks::Handler, &TokenStream::new(), &item);
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) if errors.is_empty() => function,
        // Not a handler, or not a parsable fn: the item unchanged, with what the checks found
        // (rustc reports a syntax error in the body at its line).
        _ => return handler::attribute("sse", args, item),
    };
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
    // The data type under a name the generated TypeScript test can reach from outside the file.
    let data_alias = data.map(|ty| {
        let alias = format_ident!("{}{}", nitrous_routes::typescript::SSE_DATA_PREFIX, name);
        quote! {
            #[doc(hidden)]
            #[allow(dead_code, non_camel_case_types)]
            pub(crate) type #alias = #ty;
        }
    });
    let shutdown = syn::Ident::new("__nitrous_shutdown", Span::mixed_site());
    let private = paths::private();
    let registration = handler::registration(&sig, handler::Output::Known);
    quote! {
        #data_alias
        #registration
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

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn wraps_a_function_whose_text_mentions_compile_error() {
        let out = super::expand(
            quote!(),
            quote! {
                /// Not a compile_error! in sight.
                pub async fn clock() -> EventStream {
                    let _ = "compile_error";
                    EventStream::new()
                }
            },
        )
        .to_string();
        assert!(out.contains("__nitrous_sse_clock"), "{out}");
        assert!(out.contains("sse_respond"), "{out}");
    }

    #[test]
    fn reports_a_function_it_cannot_wrap_and_leaves_it_unwrapped() {
        let out = super::expand(
            quote!(),
            quote!(
                async fn clock() -> EventStream {}
            ),
        )
        .to_string();
        assert!(
            out.contains("compile_error") && out.contains("must be `pub`"),
            "{out}"
        );
        assert!(!out.contains("sse_respond"), "{out}");
    }
}
