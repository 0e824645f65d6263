//! `#[nitrous::get]` and its siblings: markers that `routes!` reads from the file's syntax. The
//! attribute itself checks the function at its own span and returns it unchanged, beside the
//! function that `routes!` registers it with.

use nitrous_routes::paths;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

/// `item`, unchanged, with an error beside it for each way it is not a handler `routes!` can call,
/// and the function `routes!` registers it with, which checks each argument and the output.
pub(crate) fn attribute(name: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = check(name, Marks::Handler, &args, &item);
    let registration = syn::parse2::<Signature>(item.clone())
        .map(|s| {
            if errors.is_empty() {
                registration(&s.sig, Output::Checked)
            } else {
                skipped_registration(&s.sig.ident)
            }
        })
        .unwrap_or_default();
    let mut out = item;
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out.extend(registration);
    out.into_token_stream()
}

/// Whether the handler's output is checked to be a response.
pub(crate) enum Output {
    Checked,
    /// The attribute made it one (`#[nitrous::sse]`).
    Known,
}

/// The function `routes!` registers the handler `sig` with: each argument checked to be an
/// extractor on the router's state, and the output a response, each check spanned at its type, so
/// a mistake is reported there in words (as axum's `#[debug_handler]` does), and the handler
/// registered only once every check passed, so the router adds no second error.
/// The state is `super::__NitrousState`, which `routes!` declares beside every route module.
///
/// `State<T>` arguments are left to `routes!`, which reports a missing `state = T` once for the
/// whole call; a generic handler's are left to rustc.
pub(crate) fn registration(sig: &syn::Signature, output: Output) -> TokenStream {
    let private = paths::private();
    let mut checks: Vec<TokenStream> = Vec::new();
    if sig.generics.params.is_empty() {
        let types = argument_types(sig);
        let last = types.len().saturating_sub(1);
        for (i, ty) in types.iter().enumerate() {
            if is_state(ty) {
                continue;
            }
            let check = if i == last {
                quote_spanned!(ty.span()=> <#ty as #private::LastArgument<super::__NitrousState, _>>::CHECKED)
            } else {
                quote_spanned!(ty.span()=> <#ty as #private::HeadArgument<super::__NitrousState, _>>::CHECKED)
            };
            checks.push(check);
        }
        if let (Output::Checked, syn::ReturnType::Type(_, ty)) = (output, &sig.output) {
            checks.push(quote_spanned!(ty.span()=> <#ty as #private::HandlerOutput<_>>::CHECKED));
        }
    }
    let checked = all_passed(checks);
    let handler = &sig.ident;
    let register =
        quote_spanned!(handler.span()=> #private::Passed::register(#checked, to, #handler));
    // A handler without arguments needs nothing of the state: any router takes it (and the
    // attribute works outside a route module, where there is no `super::__NitrousState`).
    registration_function(handler, sig.inputs.is_empty(), register)
}

/// The types of a function's arguments, in order (a receiver has none).
pub(crate) fn argument_types(sig: &syn::Signature) -> Vec<&syn::Type> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(arg) => Some(&*arg.ty),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Every check passed: the last one's proof, undecided while any check is.
pub(crate) fn all_passed(checks: Vec<TokenStream>) -> TokenStream {
    let private = paths::private();
    checks
        .into_iter()
        .rev()
        .reduce(|passed, check| quote!(#private::both(#check, #passed)))
        .unwrap_or_else(|| quote!(#private::Checked::NOTHING))
}

/// The registration function of a handler its attribute reported: it registers nothing, so the
/// attribute's error is the only one.
pub(crate) fn skipped_registration(handler: &syn::Ident) -> TokenStream {
    registration_function(handler, true, quote!(to.skip()))
}

/// `pub fn __nitrous_route_{handler}(to: R) -> MethodRouter<S> { body }`, on the router's state
/// (`super::__NitrousState`) or, `any_state`, on every state.
fn registration_function(handler: &syn::Ident, any_state: bool, body: TokenStream) -> TokenStream {
    let private = paths::private();
    let function = paths::registration(&handler.to_string());
    let (generics, state) = if any_state {
        (
            quote!(<S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static, R: #private::Register<S>>),
            quote!(S),
        )
    } else {
        (
            quote!(<R: #private::Register<super::__NitrousState>>),
            quote!(super::__NitrousState),
        )
    };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_snake_case, clippy::all)]
        pub fn #function #generics(to: R) -> #private::MethodRouter<#state> {
            #body
        }
    }
}

/// `State<T>`, however its path is written.
pub(crate) fn is_state(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "State"))
}

/// What an attribute marks, for the words of its messages.
#[derive(Clone, Copy)]
pub(crate) enum Marks {
    /// A route's handler (`#[nitrous::get]`, its siblings, `#[nitrous::sse]`).
    Handler,
    /// A middleware (`#[nitrous::middleware]`).
    Middleware,
}

impl Marks {
    /// What the marked functions are called: "handlers".
    fn plural(self) -> &'static str {
        match self {
            Marks::Handler => "handlers",
            Marks::Middleware => "functions",
        }
    }

    /// The file they live in.
    fn file(self) -> &'static str {
        match self {
            Marks::Handler => "a route file",
            Marks::Middleware => "a middleware file",
        }
    }

    /// Where what arguments could say comes from instead.
    fn named_by(self) -> &'static str {
        match self {
            Marks::Handler => "the route comes from the file's path",
            Marks::Middleware => "its place in the chain comes from the file's name",
        }
    }
}

/// Every way `item` is not a function `routes!` can call (a `pub async fn`, no attribute
/// arguments); empty when it is one.
pub(crate) fn check(
    name: &str,
    marks: Marks,
    args: &TokenStream,
    item: &TokenStream,
) -> Vec<syn::Error> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            args,
            format!(
                "`#[nitrous::{name}]` takes no arguments; {}",
                marks.named_by()
            ),
        ));
    }
    match syn::parse2::<Signature>(item.clone()) {
        // Not even a signature: an attribute on something else. (A body with a syntax error still
        // parses here; rustc reports that error at its line, and nitrous adds none.)
        Err(_) => errors.push(syn::Error::new_spanned(
            item,
            format!(
                "`#[nitrous::{name}]` goes on an `async fn` in {}",
                marks.file()
            ),
        )),
        Ok(Signature { vis, sig }) => {
            let plural = marks.plural();
            if sig.asyncness.is_none() {
                errors.push(syn::Error::new_spanned(
                    sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` {plural} are `async fn`s: write `pub async fn {}`",
                        sig.ident
                    ),
                ));
            }
            if matches!(vis, syn::Visibility::Inherited) {
                errors.push(syn::Error::new_spanned(
                    sig.fn_token,
                    format!(
                        "`#[nitrous::{name}]` {plural} must be `pub`, since the generated router calls them from outside this module: write `pub async fn {}`",
                        sig.ident
                    ),
                ));
            }
        }
    }
    errors
}

/// A function's visibility and signature; the body is not parsed.
pub(crate) struct Signature {
    pub(crate) vis: syn::Visibility,
    pub(crate) sig: syn::Signature,
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
