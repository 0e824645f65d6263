//! The arguments of `routes!(dir = "...", middleware = "...", prefix = "...", state = Type)`.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token};

/// Parsed `routes!` arguments; every one is optional.
#[derive(Default)]
pub struct Args {
    /// The routes folder: relative to the crate (`CARGO_MANIFEST_DIR`), or to the calling file
    /// when it starts with `./` or `../` (as `include!` does).
    pub dir: Option<LitStr>,
    /// The middleware folder, resolved as `dir` is; by default `middleware` beside the routes
    /// folder (`src/server/middleware`), used when it exists.
    pub middleware: Option<LitStr>,
    /// What HTTP and SSE routes are served under; `""` for nothing.
    pub prefix: Option<LitStr>,
    /// The router's state type: `router()` returns `Router<state>`.
    pub state: Option<syn::Type>,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use quote::ToTokens;
        f.debug_struct("Args")
            .field("dir", &self.dir.as_ref().map(LitStr::value))
            .field("middleware", &self.middleware.as_ref().map(LitStr::value))
            .field("prefix", &self.prefix.as_ref().map(LitStr::value))
            .field(
                "state",
                &self.state.as_ref().map(|t| t.to_token_stream().to_string()),
            )
            .finish()
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let items = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        for item in items {
            let duplicate = |key: &syn::Ident| {
                syn::Error::new(key.span(), format!("`{key}` is given twice; give it once"))
            };
            match item {
                Arg::Dir(key, _) if args.dir.is_some() => push(duplicate(&key)),
                Arg::Dir(_, value) => args.dir = Some(value),
                Arg::Middleware(key, _) if args.middleware.is_some() => push(duplicate(&key)),
                Arg::Middleware(_, value) => args.middleware = Some(value),
                Arg::Prefix(key, _) if args.prefix.is_some() => push(duplicate(&key)),
                Arg::Prefix(_, value) => match check_prefix(&value.value()) {
                    Ok(()) => args.prefix = Some(value),
                    Err(e) => push(syn::Error::new(value.span(), e)),
                },
                Arg::State(key, _) if args.state.is_some() => push(duplicate(&key)),
                Arg::State(_, value) => args.state = Some(*value),
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}

enum Arg {
    Dir(syn::Ident, LitStr),
    Middleware(syn::Ident, LitStr),
    Prefix(syn::Ident, LitStr),
    State(syn::Ident, Box<syn::Type>),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: syn::Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        match key.to_string().as_str() {
            "dir" => Ok(Arg::Dir(key, input.parse()?)),
            "middleware" => Ok(Arg::Middleware(key, input.parse()?)),
            "prefix" => Ok(Arg::Prefix(key, input.parse()?)),
            "state" => Ok(Arg::State(key, Box::new(input.parse()?))),
            _ => Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown argument `{key}`: `routes!` takes `dir = \"src/server/routes\"`, `middleware = \"src/server/middleware\"`, `prefix = \"/api\"` and `state = AppState`"
                ),
            )),
        }
    }
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains("//") {
        return Err(format!(
            "prefix `{prefix}` must start with `/` and not end with one, as in `/api`; `\"\"` turns the prefix off"
        ));
    }
    if prefix.contains(['{', '}', '[', ']', '*']) {
        return Err(format!(
            "prefix `{prefix}` must be plain text, without params or wildcards"
        ));
    }
    Ok(())
}

/// The `state = Type` argument of a call whose arguments failed to parse, so the stub router
/// emitted beside the error has the state type the user's code expects (no follow-on errors).
pub fn state_of(input: proc_macro2::TokenStream) -> Option<syn::Type> {
    let tokens: Vec<proc_macro2::TokenTree> = input.into_iter().collect();
    let parts =
        tokens.split(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ','));
    parts.into_iter().find_map(|part| match part {
        [
            proc_macro2::TokenTree::Ident(key),
            proc_macro2::TokenTree::Punct(eq),
            ty @ ..,
        ] if key == "state" && eq.as_char() == '=' => {
            syn::parse2(ty.iter().cloned().collect()).ok()
        }
        _ => None,
    })
}
