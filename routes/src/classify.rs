//! What a route file serves, read from its syntax tree.

use crate::route::Method;

/// The handler attributes nitrous recognises on a top-level `fn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// `#[nitrous::get]` and its siblings.
    Method(Method),
    /// `#[nitrous::handler]`: every method, or the file's suffix method.
    Any,
    /// `#[nitrous::sse]`: a GET answering `text/event-stream`.
    Sse,
    /// `#[nitrous::middleware]`: a middleware, which belongs in the middleware folder.
    Middleware,
}

impl Attr {
    /// The attribute named `name` (the last segment of its path: `get`, `handler`, `sse`,
    /// `middleware`).
    pub fn from_name(name: &str) -> Option<Attr> {
        match name {
            "handler" => return Some(Attr::Any),
            "sse" => return Some(Attr::Sse),
            "middleware" => return Some(Attr::Middleware),
            _ => {}
        }
        Method::from_suffix(name).map(Attr::Method)
    }
}

/// A function marked with a nitrous attribute, found in a route or middleware file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// Which attribute marks it.
    pub attr: Attr,
    /// The function's name.
    pub ident: String,
    /// Whether the generated router can call it: a `pub async fn`. The attribute reports any other
    /// function at its own span, so the router leaves it out rather than add a second error.
    pub callable: bool,
    /// An event stream's declared data type, `#[nitrous::sse(data = T)]`, as written.
    pub data: Option<String>,
}

/// An `impl WebSocketHandler for T` (or `impl Channel for T`) found in a route file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socket {
    /// `T`, as written (a path relative to the route file's module).
    pub ty: String,
    /// An `impl Channel`: the route speaks the channel protocol.
    pub channel: bool,
    /// The file also has `impl Requests for T`: the channel answers requests.
    pub requests: bool,
    /// Why the generated router cannot name `T`, if it cannot.
    pub problem: Option<String>,
}

/// What one route or middleware file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// The marked functions, in file order.
    pub handlers: Vec<Handler>,
    /// The `impl WebSocketHandler for T` blocks, in file order.
    pub sockets: Vec<Socket>,
    /// What in the file needs the router's state, in file order.
    pub states: Vec<StateUse>,
}

/// Something in a route file that needs the router to have a state: a handler argument
/// `State<T>`, or `impl FromRef<T>` for the file's WebSocket handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateUse {
    /// What needs it, for messages: "`count` takes `State<AppState>`".
    pub by: String,
    /// The state type as written (`AppState`, `crate::AppState`).
    pub ty: String,
}

/// Reads a route or middleware file's top-level items. `None` when the file does not parse: rustc reports the
/// syntax error at its line when it compiles the `#[path]` module, so nitrous adds nothing.
pub fn classify(text: &str) -> Option<Content> {
    let file = syn::parse_file(text).ok()?;
    let imported = nitrous_imports(&file);
    let mut content = Content::default();
    for item in &file.items {
        if let syn::Item::Impl(block) = item
            && let Some((trait_path, _)) = &block.trait_
            && let Some(channel) = socket_trait(trait_path)
        {
            let mut socket = socket(&file, &block.self_ty);
            socket.channel = channel;
            content.sockets.push(socket);
        }
        if let syn::Item::Fn(function) = item {
            let marked = function
                .attrs
                .iter()
                .any(|attr| nitrous_attr(attr.path(), &imported).is_some());
            if marked {
                content
                    .states
                    .extend(function.sig.inputs.iter().filter_map(|input| {
                        let syn::FnArg::Typed(arg) = input else {
                            return None;
                        };
                        let ty = state_type(&arg.ty)?;
                        Some(StateUse {
                            by: format!("`{}` takes `State<{ty}>`", function.sig.ident),
                            ty,
                        })
                    }));
            }
            for attr in &function.attrs {
                if let Some(kind) = nitrous_attr(attr.path(), &imported) {
                    content.handlers.push(Handler {
                        attr: kind,
                        data: sse_data(attr),
                        ident: function.sig.ident.to_string(),
                        callable: function.sig.asyncness.is_some()
                            && !matches!(function.vis, syn::Visibility::Inherited),
                    });
                }
            }
        }
    }
    // A channel that answers requests: `impl Requests for Room`.
    for item in &file.items {
        if let syn::Item::Impl(block) = item
            && let Some((trait_path, _)) = &block.trait_
            && is_requests(trait_path)
        {
            let channel = tokens(&block.self_ty);
            for socket in content.sockets.iter_mut().filter(|s| s.ty == channel) {
                socket.requests = true;
            }
        }
    }
    // A WebSocket handler built from the state: `impl FromRef<AppState> for Chat`.
    for item in &file.items {
        if let syn::Item::Impl(block) = item
            && let Some((trait_path, _)) = &block.trait_
            && let Some(last) = trait_path.segments.last()
            && last.ident == "FromRef"
            && let syn::PathArguments::AngleBracketed(args) = &last.arguments
            && let Some(syn::GenericArgument::Type(state)) = args.args.first()
        {
            let handler = tokens(&block.self_ty);
            if content.sockets.iter().any(|s| s.ty == handler) {
                let ty = tokens(state);
                content.states.push(StateUse {
                    by: format!(
                        "`{handler}` is built from it (`impl FromRef<{ty}> for {handler}`)"
                    ),
                    ty,
                });
            }
        }
    }
    Some(content)
}

/// `T` in an argument of type `State<T>` (`axum::extract::State<T>`, `nitrous::axum::...`).
fn state_type(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "State" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(state) if args.args.len() == 1 => Some(tokens(state)),
        _ => None,
    }
}

/// A type as written: token printing's spaces dropped, but between two words (`dyn Trait`).
fn tokens(ty: &syn::Type) -> String {
    let printed = quote::ToTokens::to_token_stream(ty).to_string();
    let chars: Vec<char> = printed.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    chars
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            *c != ' ' || (word(chars.get(i.wrapping_sub(1))) && word(chars.get(i + 1)))
        })
        .map(|(_, c)| c)
        .collect()
}

/// `nitrous::get`, `::nitrous::get`, or a bare name that a `use nitrous::...` brought in.
fn nitrous_attr(path: &syn::Path, imported: &Imports) -> Option<Attr> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [name] => imported
            .resolve(name)
            .and_then(|original| Attr::from_name(&original)),
        [krate, name] if krate == "nitrous" => Attr::from_name(name),
        _ => None,
    }
}

/// The names that the file's `use nitrous::...` items bring into scope.
#[derive(Default)]
struct Imports {
    /// `(local name, name in nitrous)`.
    names: Vec<(String, String)>,
    glob: bool,
}

impl Imports {
    fn resolve(&self, local: &str) -> Option<String> {
        match self.names.iter().find(|(name, _)| name == local) {
            Some((_, original)) => Some(original.clone()),
            None => self.glob.then(|| local.to_owned()),
        }
    }
}

fn nitrous_imports(file: &syn::File) -> Imports {
    let mut imports = Imports::default();
    for item in &file.items {
        if let syn::Item::Use(item) = item
            && let syn::UseTree::Path(path) = &item.tree
            && path.ident == "nitrous"
        {
            collect(&path.tree, &mut imports);
        }
    }
    imports
}

/// Leaves of the tree below `nitrous::`: only names directly in the crate root are attributes.
fn collect(tree: &syn::UseTree, imports: &mut Imports) {
    match tree {
        syn::UseTree::Name(name) => {
            imports
                .names
                .push((name.ident.to_string(), name.ident.to_string()));
        }
        syn::UseTree::Rename(rename) => {
            imports
                .names
                .push((rename.rename.to_string(), rename.ident.to_string()));
        }
        syn::UseTree::Glob(_) => imports.glob = true,
        syn::UseTree::Group(group) => group.items.iter().for_each(|tree| collect(tree, imports)),
        syn::UseTree::Path(_) => {}
    }
}

/// The handler type of a WebSocket impl, and whether generated code can name it.
fn socket(file: &syn::File, ty: &syn::Type) -> Socket {
    let written = tokens(ty);
    let problem = match ty {
        syn::Type::Path(path) if path.qself.is_none() && path.path.leading_colon.is_none() => {
            let name = path.path.segments.last().map(|s| s.ident.to_string());
            let private = file.items.iter().any(|item| match item {
                syn::Item::Struct(s) => {
                    Some(s.ident.to_string()) == name && matches!(s.vis, syn::Visibility::Inherited)
                }
                syn::Item::Enum(e) => {
                    Some(e.ident.to_string()) == name && matches!(e.vis, syn::Visibility::Inherited)
                }
                _ => false,
            });
            let generic = path.path.segments.iter().any(|s| !s.arguments.is_empty());
            if generic {
                Some(format!(
                    "`{written}` has generic arguments; implement `WebSocketHandler` for a named type without them"
                ))
            } else if private {
                Some(format!(
                    "`{written}` must be `pub`, since the generated router names it from outside this module: write `pub struct {written}`"
                ))
            } else {
                None
            }
        }
        _ => Some(format!(
            "implement `WebSocketHandler` for a named type defined in the route file, not `{written}`"
        )),
    };
    Socket {
        ty: written,
        channel: false,
        requests: false,
        problem,
    }
}

/// `T` of `#[nitrous::sse(data = T)]`; the attribute reports any other argument itself.
fn sse_data(attr: &syn::Attribute) -> Option<String> {
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let (name, ty) = syn::parse::Parser::parse2(data_argument, list.tokens.clone()).ok()?;
    (name == "data").then(|| tokens(&ty))
}

/// `name = Type`.
pub fn data_argument(input: syn::parse::ParseStream<'_>) -> syn::Result<(syn::Ident, syn::Type)> {
    let name: syn::Ident = input.parse()?;
    input.parse::<syn::Token![=]>()?;
    let ty: syn::Type = input.parse()?;
    Ok((name, ty))
}

/// nitrous's `Requests` (`Requests`, `channel::Requests`, `nitrous::channel::Requests`).
fn is_requests(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(
        names
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["Requests"] | [.., "channel", "Requests"]
    )
}

/// Whether a trait makes a WebSocket route: `Some(false)` for `WebSocketHandler`, `Some(true)` for
/// nitrous's `Channel` (`Channel`, `channel::Channel`, `nitrous::channel::Channel`).
fn socket_trait(path: &syn::Path) -> Option<bool> {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [.., "WebSocketHandler"] => Some(false),
        ["Channel"] | [.., "channel", "Channel"] => Some(true),
        _ => None,
    }
}
