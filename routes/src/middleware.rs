//! The middleware folder: a file's name to its place in the chain (a pure function, [`parse`]),
//! and the chain of a whole folder, checked ([`build_chain`]).
//!
//! A middleware file is `NAME.rs` or `ORDER.NAME.rs`, where `ORDER` is a number: its order key
//! (`01.auth.rs`: key 1, module `auth`). Files with a key run first, by their numbers (`2.` before
//! `10.`, `01` and `1` being one key), then files without one, by name; as in Nitro, whose
//! middleware run in file-name order, the first runs outermost. Two files with one key would run
//! in an order that only their names decide: that is an error, so the order is always the one
//! the numbers say.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::classify::{self, Attr, StateUse};
use crate::route::module_ident;
use crate::scan::Found;

/// An order key: the number without its leading zeros (`01` and `1` are one key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order(String);

impl Order {
    /// The key of `digits` (ASCII digits, at least one).
    fn new(digits: &str) -> Order {
        let trimmed = digits.trim_start_matches('0');
        Order(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ord for Order {
    /// As numbers, of any length: the shorter is the smaller, else digit by digit.
    fn cmp(&self, other: &Order) -> Ordering {
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

impl PartialOrd for Order {
    fn partial_cmp(&self, other: &Order) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A middleware file, as its name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiddlewareName {
    /// `Some(1)` for `01.auth.rs`; `None` for `auth.rs`.
    pub order: Option<Order>,
    /// The file's module: `auth`, `request_id` for `02.request-id.rs`.
    pub module: String,
}

/// Maps a path under the middleware folder to its order key and module.
///
/// On failure returns the problem, a sentence that says the fix.
pub fn parse(rel: &str) -> Result<MiddlewareName, String> {
    const SHAPE: &str =
        "a middleware file is `NAME.rs` or `ORDER.NAME.rs`, where ORDER is a number (`01.auth.rs`)";
    if rel.contains('/') {
        return Err(format!(
            "middleware files sit directly in the middleware folder, where their names order them; move `{rel}` up, as `NAME.rs` or `ORDER.NAME.rs`"
        ));
    }
    let Some(stem) = rel.strip_suffix(".rs") else {
        return Err(format!(
            "`{rel}` is not a Rust file: middleware files end in `.rs`; move other files out of the middleware folder"
        ));
    };
    let (order, name) = match stem.split('.').collect::<Vec<_>>().as_slice() {
        [name] if is_number(name) => {
            return Err(format!(
                "`{rel}` has an order and no name: {SHAPE}; write `{name}.NAME.rs`"
            ));
        }
        [name] => (None, *name),
        [order, name] if is_number(order) => (Some(Order::new(order)), *name),
        [order, _] => {
            return Err(format!("`{rel}`: `{order}` is not a number, and {SHAPE}"));
        }
        _ => {
            return Err(format!(
                "`{rel}` has more than one `.` before `.rs`: {SHAPE}"
            ));
        }
    };
    if name.is_empty() {
        return Err(format!("`{rel}` has no name: {SHAPE}"));
    }
    Ok(MiddlewareName {
        order,
        module: module_ident(name),
    })
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A middleware file, as the generated module tree and chain hold it.
#[derive(Clone, Debug)]
pub struct File {
    /// `01.auth.rs`, under the middleware folder.
    pub rel: String,
    /// Its path on disk, for `#[path]`.
    pub path: PathBuf,
    /// Its module under `middleware`; `None` when the name could not be mapped.
    pub module: Option<String>,
    /// Its order key, if its name has one.
    pub order: Option<Order>,
    /// The function marked `#[nitrous::middleware]`, when the generated router can call it (a
    /// `pub async fn`; the attribute reports any other).
    pub function: Option<String>,
    /// What in the file needs the router's state.
    pub states: Vec<StateUse>,
}

/// The middleware folder's files, in the order they run: the chain every route runs through.
#[derive(Debug, Default)]
pub struct Chain {
    /// Sorted by order key, then name: the first runs first (outermost).
    pub files: Vec<File>,
}

/// One middleware of the chain: its file, the file's module and the function.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// The middleware file.
    pub file: &'a File,
    /// Its module under `middleware`.
    pub module: &'a str,
    /// The function marked `#[nitrous::middleware]`.
    pub function: &'a str,
}

impl Chain {
    /// The middleware the chain runs, first to run first: each file with a module and a function
    /// the router can call.
    pub fn links(&self) -> impl Iterator<Item = Link<'_>> {
        self.files.iter().filter_map(|file| {
            Some(Link {
                file,
                module: file.module.as_deref()?,
                function: file.function.as_deref()?,
            })
        })
    }
}

/// Builds the chain from the scanned files, checking it as it goes: every problem found is one
/// message in the returned list. `shown_root` is the middleware folder as the user sees it
/// (`src/server/middleware`), for messages.
pub fn build_chain(found: Vec<Found>, shown_root: &str) -> (Chain, Vec<String>) {
    let shown = |rel: &str| format!("{shown_root}/{rel}");
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for found in found {
        let (module, order) = match parse(&found.rel) {
            Ok(name) => (Some(name.module), name.order),
            Err(problem) => {
                errors.push(format!("{}: {problem}", shown(&found.rel)));
                (None, None)
            }
        };
        let mut file = File {
            rel: found.rel,
            path: found.path,
            module,
            order,
            function: None,
            states: Vec::new(),
        };
        // A file without a module is not compiled: its name is all there is to report.
        if file.module.is_none() {
            files.push(file);
            continue;
        }
        let text = match found.text {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!(
                    "{}: cannot read this middleware file ({e}); fix its permissions or move it out of the middleware folder",
                    shown(&file.rel)
                ));
                files.push(file);
                continue;
            }
        };
        // A file that does not parse is left to rustc, which reports the error at its line.
        if let Some(content) = classify::classify(&text) {
            file.function = middleware_function(&content, &shown(&file.rel), &mut errors);
            file.states = content.states;
        }
        files.push(file);
    }
    check_keys(&files, &shown, &mut errors);
    // Stable: files without a key keep the scan's order, which is by name.
    files.sort_by(|a, b| match (&a.order, &b.order) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    (Chain { files }, errors)
}

/// The one middleware a file defines, if the router can call it; a file with none, with two, or
/// with what belongs in the routes folder is reported.
fn middleware_function(
    content: &classify::Content,
    shown: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    for handler in content
        .handlers
        .iter()
        .filter(|h| h.attr != Attr::Middleware)
    {
        errors.push(format!(
            "{shown}: `{}` is a route handler, which answers one route; move it to the routes folder (a middleware file holds one `#[nitrous::middleware]` function)",
            handler.ident
        ));
    }
    for socket in &content.sockets {
        errors.push(format!(
            "{shown}: `{}` is a WebSocket handler, which answers one route; move it to the routes folder",
            socket.ty
        ));
    }
    let marked: Vec<&classify::Handler> = content
        .handlers
        .iter()
        .filter(|h| h.attr == Attr::Middleware)
        .collect();
    match marked.as_slice() {
        [] => {
            errors.push(format!(
                "{shown} defines no middleware: add one, such as `#[nitrous::middleware] pub async fn log(request: Request, next: Next) -> Response {{ next.run(request).await }}` (`Request` from `nitrous::axum::extract`, `Next` from `nitrous::axum::middleware`, `Response` from `nitrous::axum::response`), or, if it is code other files share, move it out of the middleware folder into a module of the crate"
            ));
            None
        }
        [one] => one.callable.then(|| one.ident.clone()),
        [first, second, ..] => {
            errors.push(format!(
                "{shown}: `{}` and `{}` are both middleware; a file holds one, since its name gives its place in the chain: move `{}` to a file of its own (`NN.{}.rs`)",
                first.ident, second.ident, second.ident, second.ident
            ));
            first.callable.then(|| first.ident.clone())
        }
    }
}

/// Two files with one order key, or on one module, are reported.
fn check_keys(files: &[File], shown: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    let mut orders: BTreeMap<&Order, &str> = BTreeMap::new();
    let mut modules: BTreeMap<&str, &str> = BTreeMap::new();
    for file in files {
        if let Some(order) = &file.order
            && let Some(first) = orders.insert(order, &file.rel)
        {
            errors.push(format!(
                "{} and {} have the same order key, {order}, so which runs first would depend on their names alone; give each its own number",
                shown(first),
                shown(&file.rel),
            ));
        }
        if let Some(module) = &file.module
            && let Some(first) = modules.insert(module, &file.rel)
        {
            errors.push(format!(
                "{} and {} would both be the module `middleware::{module}`; rename one of them",
                shown(first),
                shown(&file.rel)
            ));
        }
    }
}
