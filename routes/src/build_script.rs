//! How new and removed files reach cargo: a crate's `build.rs` must watch the folders `routes!`
//! reads (see DESIGN.md section 4), and the macro warns, with the line to add, when it does not.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

/// What the calling crate's build script is, for the advice.
#[derive(Debug)]
pub enum BuildScript {
    /// The crate has no build script: cargo will not notice new files.
    Missing,
    /// `build.rs` at the crate root, with its text.
    Found(String),
    /// A build script elsewhere (`package.build`), or no way to tell: say nothing.
    Unknown,
}

/// A folder relative to the crate root, as build.rs names it; `None` outside the crate.
pub(crate) fn watched_dir(root: &Path, manifest_dir: &Path) -> Option<String> {
    let relative = root.strip_prefix(manifest_dir).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// A warning (through `#[deprecated]`, the one warning a proc macro can raise on stable Rust) when
/// cargo will not notice added or removed files in the folders `routes!` reads: `dirs`, relative
/// to the crate (the routes folder, and the middleware folder when there is one).
pub(crate) fn advice(build_script: &BuildScript, dirs: &[String]) -> TokenStream {
    let unwatched: Vec<&String> = match build_script {
        BuildScript::Unknown => return TokenStream::new(),
        BuildScript::Found(text) => dirs.iter().filter(|dir| !watches(text, dir)).collect(),
        BuildScript::Missing => dirs.iter().collect(),
    };
    if unwatched.is_empty() {
        return TokenStream::new();
    }
    let lines: Vec<String> = unwatched
        .iter()
        .map(|dir| format!("println!(\"cargo::rerun-if-changed={dir}\");"))
        .collect();
    let folders: Vec<String> = unwatched.iter().map(|dir| format!("`{dir}`")).collect();
    let files = if dirs.len() > 1 {
        "a new route or middleware file"
    } else {
        "a new route file"
    };
    let advice = match build_script {
        BuildScript::Missing => format!(
            "nitrous: this crate has no build.rs, so cargo does not see {files} until something else rebuilds the crate; add a build.rs beside Cargo.toml containing `fn main() {{ {} }}`",
            lines.join(" ")
        ),
        _ => format!(
            "nitrous: build.rs does not tell cargo to watch {}, so {files} is not seen until something else rebuilds the crate; add `{}` to `fn main` in build.rs",
            folders.join(" and "),
            lines.join(" ")
        ),
    };
    quote! {
        const _: () = {
            #[deprecated(note = #advice)]
            #[allow(non_upper_case_globals)]
            const nitrous_add_the_build_rs_line_so_new_route_files_are_seen: () = ();
            nitrous_add_the_build_rs_line_so_new_route_files_are_seen
        };
    }
}

/// Whether a build script's `cargo::rerun-if-changed=PATH` lines watch `dir`: one names it, or a
/// folder that holds it (`src/server` holds `src/server/routes` and `src/server/middleware`).
fn watches(build_script: &str, dir: &str) -> bool {
    const LINE: &str = "cargo::rerun-if-changed=";
    build_script.match_indices(LINE).any(|(at, _)| {
        let rest = &build_script[at + LINE.len()..];
        let end = rest
            .find(|c: char| c == '"' || c == '\\' || c == ')' || c.is_whitespace())
            .unwrap_or(rest.len());
        let watched = rest[..end].trim_start_matches("./").trim_end_matches('/');
        watched.is_empty()
            || watched == "."
            || dir == watched
            || dir
                .strip_prefix(watched)
                .is_some_and(|r| r.starts_with('/'))
    })
}
