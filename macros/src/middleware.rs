//! `#[nitrous::middleware]`: the marker of a middleware file's function, which `routes!` reads
//! from the file's syntax. The attribute checks the function at its own span and returns it
//! unchanged, beside the layer that `routes!` puts it in the chain with.

use nitrous_routes::paths;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::handler::{self, Marks, Signature};

/// `item`, unchanged, with an error beside it for each way it is not a middleware `routes!` can
/// run, and its layer: the function around the rest of the chain, registered once every check
/// passed (else one that passes the request on, so the attribute's error is the only one).
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = handler::check("middleware", Marks::Middleware, &args, &item);
    let layer = match syn::parse2::<Signature>(item.clone()) {
        Ok(Signature { sig, .. }) => {
            errors.extend(check_signature(&sig));
            if errors.is_empty() {
                layer(&sig)
            } else {
                skipped_layer(&sig.ident)
            }
        }
        Err(_) => TokenStream::new(),
    };
    let mut out = item;
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out.extend(layer);
    out.into_token_stream()
}

/// What `from_fn` takes that a signature shows: a free, non-generic function of at least the
/// request and `Next`.
fn check_signature(sig: &syn::Signature) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "`#[nitrous::middleware]` functions cannot be generic",
        ));
    }
    if let Some(syn::FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            receiver,
            "`#[nitrous::middleware]` goes on a free function, not a method",
        ));
    } else if sig.inputs.len() < 2 {
        let name = &sig.ident;
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "a middleware takes the request and `Next` last: `pub async fn {name}(request: Request, next: Next) -> Response`, with any extractors (`State`, `HeaderMap`, ...) before them"
            ),
        ));
    }
    errors
}

/// `pub fn __nitrous_middleware_{name}(state, inner) -> Inner`: the middleware around `inner`,
/// each argument checked to be what `from_fn` takes there, the output a response, each check
/// spanned at its type, and its future `Send`, at its name. `State<T>` arguments are left to
/// `routes!`, as a handler's are.
fn layer(sig: &syn::Signature) -> TokenStream {
    let private = paths::private();
    let types = handler::argument_types(sig);
    let (next, request) = (types.len() - 1, types.len() - 2);
    let mut checks: Vec<TokenStream> = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        let check = if i == next {
            quote_spanned!(ty.span()=> <#ty as #private::MiddlewareNext<_>>::CHECKED)
        } else if i == request {
            quote_spanned!(ty.span()=> <#ty as #private::MiddlewareRequest<super::__NitrousState, _>>::CHECKED)
        } else if handler::is_state(ty) {
            continue;
        } else {
            quote_spanned!(ty.span()=> <#ty as #private::MiddlewareArgument<super::__NitrousState, _>>::CHECKED)
        };
        checks.push(check);
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        checks.push(quote_spanned!(ty.span()=> <#ty as #private::MiddlewareOutput<_>>::CHECKED));
    }
    let function = &sig.ident;
    checks.push(quote_spanned!(function.span()=> #private::middleware_future::<_, (#(#types,)*), _>(&#function)));
    let checked = handler::all_passed(checks);
    let wrap = quote_spanned!(function.span()=> #private::middleware::Wrap::wrap(#checked, #function, state, inner));
    layer_function(function, quote!(super::__NitrousState), quote!(), wrap)
}

/// The layer of a middleware its attribute reported: the request goes on without it, on any
/// router, so the attribute's error is the only one.
fn skipped_layer(function: &syn::Ident) -> TokenStream {
    let body = quote! {
        let _ = state;
        inner
    };
    layer_function(function, quote!(S), quote!(<S>), body)
}

/// `pub fn __nitrous_middleware_{function}(state: &S, inner: Inner) -> Inner { body }`.
fn layer_function(
    function: &syn::Ident,
    state: TokenStream,
    generics: TokenStream,
    body: TokenStream,
) -> TokenStream {
    let middleware = paths::middleware();
    let layer = paths::middleware_layer(&function.to_string());
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_snake_case, clippy::all)]
        pub fn #layer #generics(state: &#state, inner: #middleware::Inner) -> #middleware::Inner {
            #body
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn a_middleware_gets_its_layer_and_a_wrong_one_a_layer_that_passes_the_request_on() {
        let good = super::attribute(
            quote!(),
            quote!(
                pub async fn auth(request: Request, next: Next) -> Response {
                    next.run(request).await
                }
            ),
        )
        .to_string();
        assert!(good.contains("__nitrous_middleware_auth"), "{good}");
        assert!(good.contains("Wrap :: wrap"), "{good}");
        assert!(!good.contains("compile_error"), "{good}");

        let short = super::attribute(
            quote!(),
            quote!(
                pub async fn auth(next: Next) -> Response {}
            ),
        )
        .to_string();
        assert!(
            short.contains("compile_error") && short.contains("takes the request and `Next` last"),
            "{short}"
        );
        assert!(!short.contains("Wrap :: wrap"), "{short}");
        assert!(short.contains("__nitrous_middleware_auth"), "{short}");
    }
}
