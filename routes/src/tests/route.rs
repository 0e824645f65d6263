//! The path-to-route function: one test per convention and per error, and properties over
//! generated trees.

use proptest::prelude::*;

use crate::route::{self, Method, Segment};

fn ok(rel: &str) -> route::RouteFile {
    route::parse(rel).unwrap_or_else(|e| panic!("{rel}: {e:?}"))
}

fn path(rel: &str) -> String {
    route::axum_path("", &ok(rel).segments)
}

fn err(rel: &str) -> String {
    match route::parse(rel) {
        Ok(route) => panic!("{rel} mapped to {route:?}, expected an error"),
        Err(errors) => errors.join("\n"),
    }
}

#[test]
fn index_files_are_their_folder() {
    assert_eq!(path("index.rs"), "/");
    assert_eq!(path("blog/index.rs"), "/blog");
    assert_eq!(ok("blog/index.rs").module, ["blog", "index"]);
}

#[test]
fn nested_folders_are_segments() {
    assert_eq!(path("ws/chat.rs"), "/ws/chat");
    assert_eq!(ok("ws/chat.rs").module, ["ws", "chat"]);
    assert_eq!(path("a/b/c/d.rs"), "/a/b/c/d");
}

#[test]
fn params_take_a_whole_segment() {
    let route = ok("users/[id].rs");
    assert_eq!(
        route.segments,
        [Segment::Static("users".into()), Segment::Param("id".into())]
    );
    assert_eq!(route.module, ["users", "id"]);
    assert_eq!(path("[org]/[repo].rs"), "/{org}/{repo}");
    assert_eq!(ok("[org]/[repo].rs").module, ["org", "repo"]);
}

#[test]
fn catch_alls_take_the_rest() {
    assert_eq!(path("files/[...path].rs"), "/files/{*path}");
    assert_eq!(path("[...].rs"), "/{*_}");
    assert_eq!(ok("[...].rs").module, ["catch_all"]);
}

#[test]
fn every_method_suffix_restricts_the_file() {
    for method in Method::ALL {
        let route = ok(&format!("hello.{}.rs", method.suffix()));
        assert_eq!(route.method, Some(method));
        assert_eq!(route.segments, [Segment::Static("hello".into())]);
        assert_eq!(route.module, [format!("hello_{}", method.suffix())]);
    }
    assert_eq!(ok("index.post.rs").segments, []);
    assert_eq!(ok("[id].delete.rs").method, Some(Method::Delete));
    assert_eq!(
        ok("[...rest].get.rs").segments,
        [Segment::CatchAll("rest".into())]
    );
}

#[test]
fn group_folders_add_no_segment() {
    let route = ok("(admin)/stats.rs");
    assert_eq!(route.segments, [Segment::Static("stats".into())]);
    assert_eq!(route.module, ["admin", "stats"]);
    assert_eq!(path("(a)/(b)/index.rs"), "/");
}

#[test]
fn module_names_are_rust_identifiers() {
    assert_eq!(route::module_ident("hello-world"), "hello_world");
    assert_eq!(route::module_ident("404"), "_404");
    assert_eq!(route::module_ident("type"), "type_");
    assert_eq!(route::module_ident("self"), "self_");
    assert_eq!(route::module_ident("_"), "__");
    assert_eq!(ok("type.rs").module, ["type_"]);
}

#[test]
fn text_beside_a_param_is_an_error_with_the_fix() {
    let e = err("a-[id].rs");
    assert!(e.contains("mixes text and a param"), "{e}");
    assert!(e.contains("[param]"), "{e}");
    assert!(err("users/v[id]/x.rs").contains("mixes text and a param"));
}

#[test]
fn two_params_in_one_segment_are_an_error() {
    let e = err("[a][b].rs");
    assert!(e.contains("two params in one segment"), "{e}");
}

#[test]
fn empty_and_malformed_brackets_are_errors() {
    assert!(err("[].rs").contains("empty param"));
    assert!(err("[id.rs").contains("unbalanced brackets"));
    assert!(err("id].rs").contains("unbalanced brackets"));
    assert!(err("[1st].rs").contains("identifier"));
    assert!(err("[a-b].rs").contains("identifier"));
    assert!(err("[...a b].rs").contains("identifier"));
}

#[test]
fn unknown_method_suffixes_are_errors() {
    let e = err("hello.fetch.rs");
    assert!(e.contains("unknown method suffix `.fetch`"), "{e}");
    assert!(
        e.contains("get, post, put, patch, delete, head, options, connect, trace"),
        "{e}"
    );
    let e = err("hello.GET.rs");
    assert!(e.contains("rename it to `hello.get.rs`"), "{e}");
    assert!(err("a.b.get.rs").contains("more than one `.`"));
}

#[test]
fn a_catch_all_must_be_last() {
    let e = err("[...rest]/edit.rs");
    assert!(e.contains("must be the last segment"), "{e}");
    assert!(err("[...]/x/y.rs").contains("`[...]`"));
}

#[test]
fn other_names_are_errors() {
    assert!(err("README.md").contains("not a Rust file"));
    assert!(err("users/mod.rs").contains("index.rs"));
    assert!(err("(admin).rs").contains("cannot be a group"));
    assert!(err("(a b)/x.rs").contains("group folder"));
    assert!(err("a{b}.rs").contains("`{`"));
    assert!(err(".get.rs").contains("empty file name"));
}

#[test]
fn all_problems_of_a_path_are_reported() {
    match route::parse("a-[x]/[]/b.fetch.rs") {
        Ok(route) => panic!("mapped to {route:?}"),
        Err(errors) => assert_eq!(errors.len(), 3, "{errors:?}"),
    }
}

#[test]
fn precedence_orders_static_then_param_then_catch_all() {
    let mut paths = vec![
        "[...].rs",
        "users/[...rest].rs",
        "users/[id].rs",
        "users/me.rs",
        "[a]/[b].rs",
        "index.rs",
    ];
    paths.sort_by(|a, b| route::precedence(&ok(a).segments, &ok(b).segments));
    assert_eq!(
        paths,
        [
            "index.rs",
            "users/me.rs",
            "users/[id].rs",
            "users/[...rest].rs",
            "[a]/[b].rs",
            "[...].rs"
        ]
    );
}

// ---- properties over generated trees ----

/// A folder level: a segment (text or a param), or a group, which adds none.
#[derive(Clone, Debug)]
enum Folder {
    Segment(Segment),
    Group(String),
}

/// A file name without its method suffix: `index`, which adds no segment, or a segment.
#[derive(Clone, Debug)]
enum File {
    Index,
    Segment(Segment),
}

fn folder() -> impl Strategy<Value = Folder> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,5}".prop_map(|text| Folder::Segment(Segment::Static(text))),
        "[a-z][a-z0-9_]{0,4}".prop_map(|name| Folder::Segment(Segment::Param(name))),
        "[a-z]{1,4}".prop_map(Folder::Group),
    ]
}

fn file() -> impl Strategy<Value = File> {
    let segment = prop_oneof![
        "[a-z][a-z0-9-]{0,5}"
            .prop_filter("`mod.rs` is refused", |text| text != "mod")
            .prop_map(Segment::Static),
        "[a-z][a-z0-9_]{0,4}".prop_map(Segment::Param),
        "[a-z][a-z0-9_]{0,4}".prop_map(Segment::CatchAll),
        Just(Segment::CatchAll("_".to_owned())),
    ];
    prop_oneof![Just(File::Index), segment.prop_map(File::Segment)]
}

/// How a segment is written in a path, and the name its module is called after.
fn written(segment: &Segment) -> (String, String) {
    match segment {
        Segment::Static(text) => (text.clone(), text.clone()),
        Segment::Param(name) => (format!("[{name}]"), name.clone()),
        Segment::CatchAll(name) if name == "_" => ("[...]".to_owned(), "catch_all".to_owned()),
        Segment::CatchAll(name) => (format!("[...{name}]"), name.clone()),
    }
}

/// A valid route file, written as a path, with the route its parts say it is: each folder's
/// segment (none for a group) then the file's (none for `index`), the method of its suffix, and
/// a module per folder and for the file, the file's with the method appended.
fn tree() -> impl Strategy<Value = (String, route::RouteFile)> {
    let method = prop::option::of(prop::sample::select(Method::ALL.to_vec()));
    (prop::collection::vec(folder(), 0..5), file(), method).prop_map(|(folders, file, method)| {
        let mut parts = Vec::new();
        let mut segments = Vec::new();
        let mut module = Vec::new();
        for folder in folders {
            let (part, name) = match folder {
                Folder::Segment(segment) => {
                    let written = written(&segment);
                    segments.push(segment);
                    written
                }
                Folder::Group(name) => (format!("({name})"), name),
            };
            parts.push(part);
            module.push(route::module_ident(&name));
        }
        let (stem, name) = match file {
            File::Index => ("index".to_owned(), "index".to_owned()),
            File::Segment(segment) => {
                let written = written(&segment);
                segments.push(segment);
                written
            }
        };
        let (file, name) = match method {
            Some(m) => (
                format!("{stem}.{}.rs", m.suffix()),
                format!("{name}_{}", m.suffix()),
            ),
            None => (format!("{stem}.rs"), name),
        };
        parts.push(file);
        module.push(route::module_ident(&name));
        let rel = parts.join("/");
        let route = route::RouteFile {
            rel: rel.clone(),
            segments,
            method,
            module,
        };
        (rel, route)
    })
}

fn valid_path() -> impl Strategy<Value = String> {
    tree().prop_map(|(rel, _)| rel)
}

/// The documented ways two files reach one route: a `(group)` folder adds nothing, and
/// `x/index.rs` is `x.rs`. Param names are part of the route.
fn normalise(rel: &str) -> String {
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !(p.starts_with('(') && p.ends_with(')')))
        .collect();
    let joined = parts.join("/");
    let joined = joined
        .strip_prefix("index.")
        .map(|rest| format!(".{rest}"))
        .unwrap_or(joined);
    joined.replace("/index.", ".")
}

proptest! {
    #[test]
    fn any_path_maps_or_errs_without_panicking(rel in "\\PC{0,40}") {
        let _ = route::parse(&rel);
    }

    #[test]
    fn every_valid_tree_maps_to_the_route_its_parts_say((rel, route) in tree()) {
        prop_assert_eq!(route::parse(&rel), Ok(route));
    }

    #[test]
    fn module_paths_are_identifiers(rel in valid_path()) {
        for name in route::parse(&rel).unwrap().module {
            prop_assert!(syn::parse_str::<syn::Ident>(&name).is_ok(), "{rel}: {name}");
        }
    }

    #[test]
    fn the_mapping_is_injective_up_to_groups_and_index(a in valid_path(), b in valid_path()) {
        let (ra, rb) = (route::parse(&a).unwrap(), route::parse(&b).unwrap());
        let same_route = ra.segments == rb.segments && ra.method == rb.method;
        prop_assert_eq!(same_route, normalise(&a) == normalise(&b), "{} vs {}", a, b);
    }

    #[test]
    fn axum_paths_round_trip_to_the_same_segments(rel in valid_path()) {
        let route = route::parse(&rel).unwrap();
        let path = route::axum_path("", &route.segments);
        prop_assert!(path.starts_with('/'));
        prop_assert_eq!(path.matches('/').count(), route.segments.len().max(1));
    }
}

proptest! {
    /// The documented conflicts do collide: a group folder or `x/index.rs` for `x.rs` keeps the route.
    #[test]
    fn groups_and_index_files_reach_the_same_route(rel in valid_path(), group in "[a-z]{1,4}") {
        let route = route::parse(&rel).unwrap();
        let grouped = route::parse(&format!("({group})/{rel}")).unwrap();
        prop_assert_eq!(&grouped.segments, &route.segments);
        let (stem, rest) = rel.split_once('.').unwrap();
        if !stem.ends_with("index") && !stem.contains('[') {
            let as_index = route::parse(&format!("{stem}/index.{rest}")).unwrap();
            prop_assert_eq!(&as_index.segments, &route.segments);
            prop_assert_eq!(as_index.method, route.method);
        }
    }
}

#[test]
fn a_colon_param_is_refused_with_the_nitro_spelling() {
    for (rel, fix) in [
        ("votes/:id.rs", "[id]"),
        (":org/repo.get.rs", "[org]"),
        ("a/:.rs", "[name]"),
    ] {
        let error = route::parse(rel).expect_err(rel).join("\n");
        assert!(error.contains(fix), "{rel}: {error}");
        assert!(error.contains("axum 0.7"), "{rel}: {error}");
    }
    assert!(
        route::parse("a:b.rs").is_ok(),
        "a colon inside a segment is text to axum"
    );
}

proptest! {
    /// Any name the route model accepts is one axum accepts at start-up: mounted into a real
    /// `Router`, it does not panic.
    #[test]
    fn any_accepted_name_mounts_into_a_real_router(
        rel in "([a-z:*{}()._\\[\\]-]{1,8}/){0,2}[a-z:*{}()._\\[\\]-]{1,8}\\.rs",
    ) {
        if let Ok(route) = route::parse(&rel) {
            let path = route::axum_path("/api", &route.segments);
            let mounted = std::panic::catch_unwind(|| {
                axum::Router::<()>::new().route(&path, axum::routing::get(|| async {}))
            });
            prop_assert!(mounted.is_ok(), "{rel} as {path}");
        }
    }
}
