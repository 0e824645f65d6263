//! The runtime's module graph, read from its sources: which top-level module names which. The hub
//! is a topic engine that knows nothing of transports, so `hub`, `broker`, `sse` and `payload`
//! name nothing in `ws`; the hub names nothing in `sse`; the broker nothing in `hub`; and no two
//! modules name each other, directly or around a cycle.
//!
//! A file names another module through a path that starts at the crate (`crate::ws::Peer`,
//! `use crate::{ws::Peer, hub}`, `$crate::` in a macro, `crate::Hub` re-exported from `hub` at
//! the crate root) or climbs out of its own module with `super::`. The sources are read as Rust
//! tokens, so comments and strings name nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Top-level module -> the other top-level modules its files name.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let tokens = |path: &Path| -> TokenStream {
        let text = std::fs::read_to_string(path).expect("read a source file");
        text.parse()
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
    };
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|path| module_path(path.strip_prefix(&src).ok()?).first().cloned())
        .collect();
    let re_exported = re_exports(tokens(&src.join("lib.rs")), &modules);
    let mut graph = BTreeMap::<String, BTreeSet<String>>::new();
    for path in &files {
        let module = module_path(path.strip_prefix(&src).expect("under src"));
        let Some(top) = module.first() else {
            continue; // the crate root names everything
        };
        if top == "__private" {
            continue; // the door for generated code names everything
        }
        let mut named = BTreeSet::new();
        names(tokens(path), &module, &mut named);
        let named = named
            .into_iter()
            .map(|name| re_exported.get(&name).cloned().unwrap_or(name))
            .filter(|name| modules.contains(name) && name != top);
        graph.entry(top.clone()).or_default().extend(named);
    }
    graph
}

/// What the crate root re-exports from its modules, each name to its module: `pub use
/// hub::{Hub, HubLayer}` makes `crate::Hub` a name of the hub.
fn re_exports(lib: TokenStream, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let tokens: Vec<TokenTree> = lib.into_iter().collect();
    let word =
        |at: usize, word: &str| matches!(tokens.get(at), Some(TokenTree::Ident(w)) if w == word);
    let mut re_exported = BTreeMap::new();
    for at in 0..tokens.len() {
        if !(word(at, "pub") && word(at + 1, "use") && path_separator(&tokens, at + 3)) {
            continue;
        }
        let Some(TokenTree::Ident(module)) = tokens.get(at + 2) else {
            continue;
        };
        let module = module.to_string();
        if !modules.contains(&module) {
            continue;
        }
        let end = (at..tokens.len())
            .find(|&i| matches!(&tokens[i], TokenTree::Punct(p) if p.as_char() == ';'))
            .map_or(tokens.len(), |i| i + 1);
        let mut exported = Vec::new();
        last_names(&tokens[at + 5..end], &mut exported);
        for name in exported {
            re_exported.insert(name, module.clone());
        }
    }
    re_exported
}

/// The name each path of a `use` tree ends in: `a::B, c::{D, E as F}` is `B`, `D`, `F`.
fn last_names(tokens: &[TokenTree], names: &mut Vec<String>) {
    for (at, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(name) if name != "self" => {
                let last = match tokens.get(at + 1) {
                    None => true,
                    Some(TokenTree::Punct(p)) => matches!(p.as_char(), ',' | ';'),
                    Some(_) => false,
                };
                if last {
                    names.push(name.to_string());
                }
            }
            TokenTree::Group(items) if items.delimiter() == Delimiter::Brace => {
                let items: Vec<TokenTree> = items.stream().into_iter().collect();
                last_names(&items, names);
            }
            _ => {}
        }
    }
}

/// The module a file under `src/` is: `hub/cursor.rs` is `hub::cursor`, `hub/mod.rs` is `hub`,
/// `lib.rs` the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut module: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
        module.pop();
    }
    module
}

/// Adds to `named` the top-level modules that the paths in `tokens`, code of module `module`,
/// start in.
fn names(tokens: TokenStream, module: &[String], named: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut at = 0;
    while at < tokens.len() {
        match &tokens[at] {
            // An inline module: its `super::` is the module around it.
            TokenTree::Ident(keyword) if keyword == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(body))) =
                    (tokens.get(at + 1), tokens.get(at + 2))
                    && body.delimiter() == Delimiter::Brace
                {
                    let mut inner = module.to_vec();
                    inner.push(name.to_string());
                    names(body.stream(), &inner, named);
                    at += 3;
                    continue;
                }
            }
            TokenTree::Ident(start) if start == "crate" || start == "super" => {
                let mut base = module.to_vec();
                if start == "crate" {
                    base.clear();
                } else {
                    base.pop();
                }
                let mut next = at + 1;
                // `super::super::..`
                while path_separator(&tokens, next)
                    && matches!(tokens.get(next + 2), Some(TokenTree::Ident(s)) if s == "super")
                {
                    base.pop();
                    next += 3;
                }
                if path_separator(&tokens, next) {
                    match (base.first(), tokens.get(next + 2)) {
                        (Some(top), _) => {
                            named.insert(top.clone());
                        }
                        (None, Some(TokenTree::Ident(name))) => {
                            named.insert(name.to_string());
                        }
                        // `use crate::{ws::Peer, hub}`: the first name of each item.
                        (None, Some(TokenTree::Group(items)))
                            if items.delimiter() == Delimiter::Brace =>
                        {
                            let mut item_starts = true;
                            for token in items.stream() {
                                if let TokenTree::Ident(name) = &token
                                    && item_starts
                                    && name != "self"
                                {
                                    named.insert(name.to_string());
                                }
                                item_starts =
                                    matches!(&token, TokenTree::Punct(p) if p.as_char() == ',');
                            }
                        }
                        _ => {}
                    }
                }
                at = next;
                continue;
            }
            TokenTree::Group(group) => names(group.stream(), module, named),
            _ => {}
        }
        at += 1;
    }
}

/// Whether `::` starts at `at`.
fn path_separator(tokens: &[TokenTree], at: usize) -> bool {
    matches!(
        (tokens.get(at), tokens.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

#[test]
fn the_topic_engine_names_no_transport() {
    let graph = graph();
    for module in ["hub", "broker", "sse", "payload"] {
        let names = &graph[module];
        assert!(!names.contains("ws"), "{module} names ws: {names:?}");
    }
    assert!(!graph["hub"].contains("sse"), "hub names sse");
    assert!(!graph["broker"].contains("hub"), "broker names hub");
    assert!(
        graph["payload"].is_empty(),
        "payload names {:?}",
        graph["payload"]
    );
    // What the check reads is there: ws and sse do use the hub, and the channel module names it
    // as `crate::Hub`, a re-export at the crate root.
    assert!(graph["ws"].contains("hub") && graph["sse"].contains("hub"));
    assert!(graph["channel"].contains("hub"), "{:?}", graph["channel"]);
}

#[test]
fn no_modules_name_each_other_in_a_cycle() {
    let graph = graph();
    // Depth-first, with the path so far: a module met again on its own path closes a cycle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|m| m == module) {
            panic!("a cycle: {} -> {module}", path[at..].join(" -> "));
        }
        if !done.insert(module.to_owned()) {
            return;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn a_re_export_at_the_crate_root_names_its_module() {
    let modules: BTreeSet<String> = ["hub", "serve"].map(String::from).into();
    let lib = "pub use axum; pub use hub::{Hub, layer::HubLayer as Layer}; pub use serve::serve;\n\
               pub use other::Thing; mod hub;";
    let re_exported = re_exports(lib.parse().unwrap(), &modules);
    let expected = [("Hub", "hub"), ("Layer", "hub"), ("serve", "serve")]
        .map(|(name, module)| (name.to_owned(), module.to_owned()));
    assert_eq!(re_exported, BTreeMap::from(expected));
}

/// The reader itself: every way a file can name another module is seen, and nothing else is.
#[test]
fn the_graph_sees_grouped_uses_super_paths_and_inline_modules_and_not_comments() {
    let module = |path: &str| path.split("::").map(str::to_owned).collect::<Vec<_>>();
    let read = |source: &str, at: &str| {
        let mut named = BTreeSet::new();
        names(source.parse().unwrap(), &module(at), &mut named);
        named.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(read("use crate::ws::Peer;", "hub"), ["ws"]);
    assert_eq!(
        read("use crate::{ws::{Peer, Session}, sse, hub::Hub};", "broker"),
        ["hub", "sse", "ws"]
    );
    assert_eq!(read("fn f() { crate::ws::close(); }", "hub"), ["ws"]);
    assert_eq!(
        read("macro_rules! m { () => { $crate::ws::X } }", "hub"),
        ["ws"]
    );
    // From hub/cursor.rs, `super` is the hub; from hub/mod.rs, the crate root.
    assert_eq!(read("use super::entry::Entry;", "hub::cursor"), ["hub"]);
    assert_eq!(read("use super::ws::Peer;", "hub"), ["ws"]);
    assert_eq!(read("use super::super::ws::Peer;", "hub::cursor"), ["ws"]);
    assert_eq!(read("use super::{ws::Peer, sse};", "hub"), ["sse", "ws"]);
    // An inline module's `super` is the module around it.
    assert_eq!(
        read(
            "mod tests { use super::*; use super::super::ws; }",
            "broker"
        ),
        ["broker", "ws"]
    );
    // Visibility, comments, docs and strings name nothing.
    assert!(
        read(
            "/// see crate::ws\npub(crate) fn f() { // crate::ws\n let _ = \"crate::ws\"; }\npub(super) struct S;",
            "hub"
        )
        .is_empty()
    );
}
