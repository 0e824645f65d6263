//! The folders a `routes!` call reads: the routes folder and its middleware folder, resolved,
//! scanned and checked, with every problem found; what `routes!` expands and `cargo nitrous
//! routes` lists.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::args::Args;
use crate::classify::StateUse;
use crate::expand::Context;
use crate::middleware::{self, Chain};
use crate::scan;
use crate::validate::{self, Table};

/// The default routes folder, relative to the crate.
pub const DEFAULT_DIR: &str = "src/server/routes";

/// The middleware folder a routes folder named `routes` implies: its sibling of this name.
pub const MIDDLEWARE_DIR: &str = "middleware";

/// A routes folder and its middleware folder, read and checked: what `routes!` expands and
/// `cargo nitrous routes` lists.
#[derive(Debug)]
pub struct Folder {
    /// The folder on disk.
    pub root: PathBuf,
    /// The folder as the call names it, for messages and the table's file column.
    pub shown_root: String,
    /// The routes, sorted as the router prefers them.
    pub table: Table,
    /// The middleware folder, when the call names one or the routes folder implies one that exists.
    pub middleware: Option<MiddlewareFolder>,
    /// Every problem found, each a whole message; the table is only served when there are none.
    pub errors: Vec<String>,
}

/// A middleware folder, read and checked.
#[derive(Debug)]
pub struct MiddlewareFolder {
    /// The folder on disk.
    pub root: PathBuf,
    /// The folder as the call names it (or as it is implied), for messages and the table.
    pub shown_root: String,
    /// Its files, in the order they run.
    pub chain: Chain,
}

/// Resolves `dir` (and the middleware folder), scans it and builds the route table and the
/// middleware chain. Fails (spanned at `dir` or `middleware`) only when a folder cannot be read at
/// all; problems with route and middleware files land in [`Folder::errors`].
pub fn read_folder(args: &Args, context: &Context) -> syn::Result<Folder> {
    let (root, shown_root) = match &args.dir {
        Some(dir) => resolve(dir, context)?,
        None => (
            context.manifest_dir.join(DEFAULT_DIR),
            DEFAULT_DIR.to_owned(),
        ),
    };
    let found = scan_folder(&root, &shown_root, "route", "dir", args.dir.as_ref())?;
    let prefix = match &args.prefix {
        Some(prefix) => prefix.value(),
        None if scan::has_api_folder(&root) => String::new(),
        None => "/api".to_owned(),
    };
    let (table, mut errors) = validate::build_table(found, &shown_root, &prefix);
    let middleware = match middleware_dir(args, context, &root, &shown_root)? {
        Some((root, shown_root)) => {
            let found = scan_folder(
                &root,
                &shown_root,
                "middleware",
                "middleware",
                args.middleware.as_ref(),
            )?;
            let (chain, chain_errors) = middleware::build_chain(found, &shown_root);
            errors.extend(chain_errors);
            Some(MiddlewareFolder {
                root,
                shown_root,
                chain,
            })
        }
        None => None,
    };
    if args.state.is_none() {
        errors.extend(missing_state(&table, &shown_root, middleware.as_ref()));
    }
    Ok(Folder {
        root,
        shown_root,
        table,
        middleware,
        errors,
    })
}

/// Every file of the `what` folder (`route`, `middleware`) at `root`, or an error spanned at the
/// argument that named it (`dir`, `middleware`).
fn scan_folder(
    root: &Path,
    shown_root: &str,
    what: &str,
    argument: &str,
    named: Option<&syn::LitStr>,
) -> syn::Result<Vec<scan::Found>> {
    let folder = if what == "route" { "routes" } else { what };
    scan::scan(root, folder).map_err(|e| {
        syn::Error::new(
            named.map_or_else(Span::call_site, |d| d.span()),
            format!(
                "{e}: nitrous looks for {what} files in `{shown_root}` ({}); create it, or name another folder with `routes!({argument} = \"...\")`",
                root.display()
            ),
        )
    })
}

/// The middleware folder: the one the call names, else `middleware` beside a routes folder named
/// `routes` (`src/server/middleware` beside `src/server/routes`) when it exists.
fn middleware_dir(
    args: &Args,
    context: &Context,
    routes_root: &Path,
    routes_shown: &str,
) -> syn::Result<Option<(PathBuf, String)>> {
    if let Some(dir) = &args.middleware {
        return resolve(dir, context).map(Some);
    }
    if routes_root.file_name().is_none_or(|name| name != "routes") {
        return Ok(None);
    }
    let Some(root) = routes_root
        .parent()
        .map(|parent| parent.join(MIDDLEWARE_DIR))
    else {
        return Ok(None);
    };
    let shown = match routes_shown.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/{MIDDLEWARE_DIR}"),
        None => MIDDLEWARE_DIR.to_owned(),
    };
    Ok(root.is_dir().then_some((root, shown)))
}

/// One error when route or middleware files need a state and the call gives none: `State<T>`
/// arguments and WebSocket handlers built with `FromRef<T>` only work on a `Router<T>`.
fn missing_state(
    table: &Table,
    shown_root: &str,
    middleware: Option<&MiddlewareFolder>,
) -> Option<String> {
    let mut uses = state_uses(table, shown_root, middleware);
    let (file, first) = uses.next()?;
    let more = uses.count();
    let others = match more {
        0 => String::new(),
        1 => " (and one more use)".to_owned(),
        n => format!(" (and {n} more uses)"),
    };
    Some(format!(
        "`routes!()` has no state, but {file} needs one: {}{others}. Name the state type in the call, `nitrous::routes!(state = {});`, and give the router its value: `router().with_state(state)`",
        first.by, first.ty
    ))
}

/// What needs the router's state, in route files, then in middleware files: (file, use).
fn state_uses<'a>(
    table: &'a Table,
    shown_root: &'a str,
    middleware: Option<&'a MiddlewareFolder>,
) -> impl Iterator<Item = (String, &'a StateUse)> {
    let routes = table.files.iter().flat_map(move |file| {
        file.states
            .iter()
            .map(move |need| (format!("{shown_root}/{}", file.rel), need))
    });
    let middleware = middleware.into_iter().flat_map(|folder| {
        folder.chain.files.iter().flat_map(move |file| {
            file.states
                .iter()
                .map(move |need| (format!("{}/{}", folder.shown_root, file.rel), need))
        })
    });
    routes.chain(middleware)
}

/// The state type the first `State<T>` (or `FromRef<T>`) in the route and middleware files names,
/// when it can be named from the `routes!` call too (not relative to its module).
pub(crate) fn needed_state(
    table: &Table,
    middleware: Option<&MiddlewareFolder>,
) -> Option<TokenStream> {
    let (_, ty) = state_uses(table, "", middleware).next()?;
    let path: syn::Path = syn::parse_str(&ty.ty).ok()?;
    let first = path.segments.first()?.ident.to_string();
    (first != "self" && first != "super").then(|| quote!(#path))
}

/// A folder the call names, on disk and as messages name it: relative to the crate, or, when it
/// starts with `./` or `../`, to the file that calls the macro.
fn resolve(dir: &syn::LitStr, context: &Context) -> syn::Result<(PathBuf, String)> {
    let value = dir.value();
    let shown = value.trim_end_matches('/').to_owned();
    if value.starts_with("./") || value.starts_with("../") {
        let Some(call_dir) = &context.call_dir else {
            return Err(syn::Error::new(
                dir.span(),
                "cannot tell which file calls `routes!`, so a `./` folder cannot be resolved; name the folder relative to the crate root",
            ));
        };
        return Ok((call_dir.join(&value), shown));
    }
    Ok((context.manifest_dir.join(&value), shown))
}
