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
}

impl Attr {
    /// The attribute named `name` (the last segment of its path: `get`, `handler`, `sse`).
    pub fn from_name(name: &str) -> Option<Attr> {
        match name {
            "handler" => return Some(Attr::Any),
            "sse" => return Some(Attr::Sse),
            _ => {}
        }
        Method::from_suffix(name).map(Attr::Method)
    }
}

/// A handler function found in a route file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// Which attribute marks it.
    pub attr: Attr,
    /// The function's name.
    pub ident: String,
    /// Whether the generated router can call it: a `pub async fn`. The attribute reports any other
    /// function at its own span, so the router leaves it out rather than add a second error.
    pub callable: bool,
}

/// An `impl WebSocketHandler for T` found in a route file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socket {
    /// `T`, as written (a path relative to the route file's module).
    pub ty: String,
    /// Why the generated router cannot name `T`, if it cannot.
    pub problem: Option<String>,
}

/// What one route file serves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// The marked functions, in file order.
    pub handlers: Vec<Handler>,
    /// The `impl WebSocketHandler for T` blocks, in file order.
    pub sockets: Vec<Socket>,
}

/// Reads a route file's top-level items. `None` when the file does not parse: rustc reports the
/// syntax error at its line when it compiles the `#[path]` module, so nitrous adds nothing.
pub fn classify(text: &str) -> Option<Content> {
    let file = syn::parse_file(text).ok()?;
    let imported = nitrous_imports(&file);
    let mut content = Content::default();
    for item in &file.items {
        if let syn::Item::Impl(block) = item
            && let Some((trait_path, _)) = &block.trait_
            && trait_path
                .segments
                .last()
                .is_some_and(|s| s.ident == "WebSocketHandler")
        {
            content.sockets.push(socket(&file, &block.self_ty));
        }
        if let syn::Item::Fn(function) = item {
            for attr in &function.attrs {
                if let Some(kind) = nitrous_attr(attr.path(), &imported) {
                    content.handlers.push(Handler {
                        attr: kind,
                        ident: function.sig.ident.to_string(),
                        callable: function.sig.asyncness.is_some()
                            && !matches!(function.vis, syn::Visibility::Inherited),
                    });
                }
            }
        }
    }
    Some(content)
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
    let written = quote::ToTokens::to_token_stream(ty)
        .to_string()
        .replace(' ', "");
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
        problem,
    }
}
