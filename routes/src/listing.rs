//! A crate's route table read from its sources, without compiling it: what `cargo nitrous routes`
//! prints, row for row what the crate's generated `ROUTES` displays (its middleware chain too).

use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};

use crate::args::Args;
use crate::expand::{BuildScript, Context};
use crate::folder;
use crate::table::write_tables;
use crate::validate::Kind;

/// The route table of one `routes!` call; `Display` prints it as `ROUTES` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    rows: Vec<[String; 4]>,
    middleware: Vec<[String; 2]>,
}

impl Listing {
    /// `[method, path, kind, file]` for every route, in the order the router prefers them.
    pub fn rows(&self) -> &[[String; 4]] {
        &self.rows
    }

    /// `[function, file]` for every middleware, in the order they run.
    pub fn middleware(&self) -> &[[String; 2]] {
        &self.middleware
    }
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_tables(
            f,
            self.rows
                .iter()
                .map(|row| row.each_ref().map(String::as_str)),
            self.middleware
                .iter()
                .map(|row| row.each_ref().map(String::as_str)),
        )
    }
}

/// Why a route table could not be listed.
#[derive(Debug)]
pub enum ListError {
    /// The `routes!` arguments do not parse, or the folder cannot be read: the macro's message.
    Call(syn::Error),
    /// The folder has problems, each a whole message, exactly as the macro reports them.
    Routes(Vec<String>),
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListError::Call(e) => write!(f, "error: {e}"),
            ListError::Routes(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "error: {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ListError {}

/// The table of `routes!(input)` called from a file in `call_dir` of the crate at `manifest_dir`.
pub fn list(
    input: TokenStream,
    manifest_dir: &Path,
    call_dir: Option<&Path>,
) -> Result<Listing, ListError> {
    let args: Args = syn::parse2(input).map_err(ListError::Call)?;
    let context = Context {
        manifest_dir: manifest_dir.to_path_buf(),
        call_dir: call_dir.map(Path::to_path_buf),
        build_script: BuildScript::Unknown,
    };
    let folder = folder::read_folder(&args, &context).map_err(ListError::Call)?;
    if !folder.errors.is_empty() {
        return Err(ListError::Routes(folder.errors));
    }
    let table = &folder.table;
    let rows = table
        .routes
        .iter()
        .flat_map(|route| {
            route.endpoints.iter().map(|endpoint| {
                let kind = match endpoint.kind() {
                    Kind::Http => crate::table::RouteKind::Http,
                    Kind::WebSocket => crate::table::RouteKind::WebSocket,
                    Kind::Sse => crate::table::RouteKind::Sse,
                    Kind::Channel => crate::table::RouteKind::Channel,
                };
                [
                    endpoint.serve.label().to_owned(),
                    route.path.clone(),
                    kind.as_str().to_owned(),
                    format!("{}/{}", folder.shown_root, table.files[endpoint.file].rel),
                ]
            })
        })
        .collect();
    let middleware = folder
        .middleware
        .iter()
        .flat_map(|m| {
            m.chain.links().map(|link| {
                [
                    link.function.to_owned(),
                    format!("{}/{}", m.shown_root, link.file.rel),
                ]
            })
        })
        .collect();
    Ok(Listing { rows, middleware })
}

/// A `routes!(...)` call found in a crate's sources.
#[derive(Debug)]
pub struct Call {
    /// The file that makes the call.
    pub file: PathBuf,
    /// The call's arguments, as written.
    pub input: TokenStream,
}

/// Every `routes!(...)` (or `nitrous::routes!(...)`) call in the `.rs` files under
/// `crate_dir/src`, in path order. Files that do not tokenize are skipped: the compiler will name
/// their problem.
pub fn find_calls(crate_dir: &Path) -> Vec<Call> {
    let mut calls = Vec::new();
    let walker = walkdir::WalkDir::new(crate_dir.join("src")).sort_by_file_name();
    for entry in walker.into_iter().filter_map(Result::ok) {
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for input in calls_in(&text) {
            calls.push(Call {
                file: path.to_path_buf(),
                input,
            });
        }
    }
    calls
}

/// The arguments of every `routes!(...)` call in a file's text, at any depth (inside `fn main`,
/// a module, another macro's input).
pub fn calls_in(text: &str) -> Vec<TokenStream> {
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    collect(tokens, &mut found);
    found
}

fn collect(tokens: TokenStream, found: &mut Vec<TokenStream>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in tokens.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "routes" => {
                // `routes` `!` `( ... )`; `fn routes` and `macro_rules! routes { .. }` do not match.
                if let (Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                    && bang.as_char() == '!'
                {
                    found.push(group.stream());
                }
            }
            TokenTree::Group(group) => collect(group.stream(), found),
            _ => {}
        }
    }
}
