//! From a file's path under the routes folder to its route: a pure function, no I/O.
//!
//! `users/[id].get.rs` becomes the segments `users`, `{id}`, the method `GET` and the module path
//! `users::id_get`. Every rule of Nitro's file conventions that can be checked on one path is
//! checked here; rules that need the whole table (conflicts) live in `validate.rs`.

use std::cmp::Ordering;
use std::fmt;

/// One segment of a route path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Literal text: `users`.
    Static(String),
    /// `[id]`: exactly one path segment, reaching `Path` under `name`.
    Param(String),
    /// `[...path]` or `[...]`: the rest of the path, slashes included. Unnamed is `_`, as in Nitro.
    CatchAll(String),
}

impl Segment {
    /// The segment in axum's path syntax.
    pub fn axum(&self) -> String {
        match self {
            Segment::Static(text) => text.clone(),
            Segment::Param(name) => format!("{{{name}}}"),
            Segment::CatchAll(name) => format!("{{*{name}}}"),
        }
    }

    /// Nitro's precedence, most specific first: static, then param, then catch-all.
    fn rank(&self) -> u8 {
        match self {
            Segment::Static(_) => 0,
            Segment::Param(_) => 1,
            Segment::CatchAll(_) => 2,
        }
    }

    /// The same segment with its param name erased: two routes of one shape match the same requests.
    pub fn shape(&self) -> Segment {
        match self {
            Segment::Static(text) => Segment::Static(text.clone()),
            Segment::Param(_) => Segment::Param(String::new()),
            Segment::CatchAll(_) => Segment::CatchAll(String::new()),
        }
    }
}

/// The HTTP methods a file name may be restricted to (`hello.get.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each is the HTTP method of its name
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Connect,
    Trace,
}

impl Method {
    /// Every method, in the order the route table lists them.
    pub const ALL: [Method; 9] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
        Method::Connect,
        Method::Trace,
    ];

    /// Lower case, as in a file suffix or an attribute name.
    pub fn suffix(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
            Method::Head => "head",
            Method::Options => "options",
            Method::Connect => "connect",
            Method::Trace => "trace",
        }
    }

    /// Upper case, as on the wire and in axum's `MethodFilter` constants.
    pub fn upper(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
        }
    }

    /// The method a file-name suffix names (`get` in `hello.get.rs`).
    pub fn from_suffix(suffix: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.suffix() == suffix)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.upper())
    }
}

/// A route file, as its path says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFile {
    /// The path under the routes folder, `/`-separated: `users/[id].rs`.
    pub rel: String,
    /// The route's segments, without any prefix; empty for the root `index.rs`.
    pub segments: Vec<Segment>,
    /// `Some` when the file name carries a method suffix.
    pub method: Option<Method>,
    /// Folder modules, then the file's module: `["users", "id"]`.
    pub module: Vec<String>,
}

/// `prefix` followed by `segments`, in axum's syntax; `/` when both are empty.
pub fn axum_path(prefix: &str, segments: &[Segment]) -> String {
    let mut path = prefix.to_owned();
    for segment in segments {
        path.push('/');
        path.push_str(&segment.axum());
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// Orders routes the way the router prefers them: segment by segment, static before param before
/// catch-all, then by text; a route that ends first comes first.
pub fn precedence(a: &[Segment], b: &[Segment]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let by_rank = x.rank().cmp(&y.rank());
        if by_rank != Ordering::Equal {
            return by_rank;
        }
        if let (Segment::Static(x), Segment::Static(y)) = (x, y) {
            let by_text = x.cmp(y);
            if by_text != Ordering::Equal {
                return by_text;
            }
        }
    }
    a.len().cmp(&b.len())
}

/// Maps a path under the routes folder (`/`-separated, ending in `.rs`) to its route.
///
/// On failure returns every problem of this path, each a sentence that says the fix.
pub fn parse(rel: &str) -> Result<RouteFile, Vec<String>> {
    let mut errors = Vec::new();
    let mut segments = Vec::new();
    let mut module = Vec::new();
    let parts: Vec<&str> = rel.split('/').collect();
    let (file, folders) = parts.split_last().expect("split yields at least one part");

    for folder in folders {
        if let Some(group) = folder.strip_prefix('(').and_then(|g| g.strip_suffix(')')) {
            match check_group(group) {
                Ok(()) => module.push(module_ident(group)),
                Err(e) => errors.push(e),
            }
            continue;
        }
        match parse_segment(folder, "folder") {
            Ok(segment) => {
                module.push(module_ident(segment_name(&segment, folder)));
                segments.push(segment);
            }
            Err(e) => errors.push(e),
        }
    }

    let mut method = None;
    match file.strip_suffix(".rs") {
        None => errors.push(format!(
            "`{file}` is not a Rust file: route files end in `.rs`; move other files out of the routes folder"
        )),
        Some("mod") => errors.push(
            "`mod.rs` is not a route file name: nitrous builds the module tree itself; name the folder's own route `index.rs`"
                .to_owned(),
        ),
        Some(stem) => {
            // Dots inside `[...rest]` belong to the param; a suffix comes after the brackets.
            let after_brackets = stem.rfind(']').map_or(0, |i| i + 1);
            let (name, suffix) = match stem[after_brackets..].rfind('.') {
                Some(dot) => (&stem[..after_brackets + dot], Some(&stem[after_brackets + dot + 1..])),
                None => (stem, None),
            };
            if let Some(suffix) = suffix {
                match Method::from_suffix(suffix) {
                    Some(m) => method = Some(m),
                    None => errors.push(unknown_suffix(file, name, suffix)),
                }
            }
            if name[name.rfind(']').map_or(0, |i| i + 1)..].contains('.') {
                errors.push(format!(
                    "`{file}` has more than one `.` suffix: a route file is `NAME.rs` or `NAME.METHOD.rs`"
                ));
            }
            if name.starts_with('(') && name.ends_with(')') {
                errors.push(format!(
                    "`{file}`: a `(group)` is a folder that adds no path segment; a file cannot be a group"
                ));
            } else if name == "index" {
                module.push(file_module("index", method));
            } else {
                match parse_segment(name, "file") {
                    Ok(segment) => {
                        module.push(file_module(segment_name(&segment, name), method));
                        segments.push(segment);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
    }

    let early_catch_all = segments.split_last().and_then(|(_, before)| {
        before.iter().find_map(|s| match s {
            Segment::CatchAll(name) => Some(name),
            _ => None,
        })
    });
    if let Some(name) = early_catch_all {
        let shown = if name == "_" {
            "[...]".to_owned()
        } else {
            format!("[...{name}]")
        };
        errors.push(format!(
            "catch-all `{shown}` must be the last segment of a route: it takes the rest of the path; make it the file name (`{shown}.rs`)"
        ));
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RouteFile {
        rel: rel.to_owned(),
        segments,
        method,
        module,
    })
}

fn unknown_suffix(file: &str, name: &str, suffix: &str) -> String {
    let methods: Vec<&str> = Method::ALL.iter().map(|m| m.suffix()).collect();
    if let Some(m) = Method::from_suffix(&suffix.to_ascii_lowercase()) {
        return format!(
            "unknown method suffix `.{suffix}` in `{file}`: method suffixes are lower case; rename it to `{name}.{}.rs`",
            m.suffix()
        );
    }
    format!(
        "unknown method suffix `.{suffix}` in `{file}`: the part before `.rs` may only name a method ({}); rename the file",
        methods.join(", ")
    )
}

fn check_group(group: &str) -> Result<(), String> {
    if group.is_empty()
        || !group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "`({group})` is not a valid group folder: write `(name)` with letters, digits, `_` or `-`"
        ));
    }
    Ok(())
}

/// One folder or file name (without `.rs` and method suffix) as a segment.
fn parse_segment(name: &str, what: &str) -> Result<Segment, String> {
    let brackets = name.contains('[') || name.contains(']');
    if !brackets {
        if name.is_empty() {
            return Err(format!("an empty {what} name cannot be a route segment"));
        }
        // axum refuses a segment that starts with `:` at start-up (its 0.7 param syntax).
        if let Some(param) = name.strip_prefix(':') {
            let param = if param.is_empty() { "name" } else { param };
            return Err(format!(
                "`{name}` is the axum 0.7 and Express spelling of a param, which axum 0.8 refuses; nitrous uses Nitro's `[{param}]`: rename `{name}` to `[{param}]` in the {what} name"
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| matches!(c, '{' | '}' | '*' | '(' | ')') || c.is_whitespace())
        {
            return Err(format!(
                "`{name}` contains `{bad}`, which a route segment cannot hold; rename the {what}"
            ));
        }
        return Ok(Segment::Static(name.to_owned()));
    }
    let inner = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'));
    let Some(inner) = inner.filter(|i| !i.contains('[') && !i.contains(']')) else {
        if name.matches('[').count() == 1
            && name.matches(']').count() == 1
            && name.find('[') < name.find(']')
        {
            return Err(format!(
                "`{name}` mixes text and a param in one segment: a segment is either text or one `[param]`; rename it to `[param]` and put the text in a folder of its own"
            ));
        }
        if name.matches('[').count() > 1 {
            return Err(format!(
                "`{name}` holds two params in one segment: use one folder level per param (`[a]/[b].rs`)"
            ));
        }
        return Err(format!(
            "`{name}` has unbalanced brackets: write `[param]` or `[...rest]`"
        ));
    };
    if let Some(rest) = inner.strip_prefix("...") {
        if rest.is_empty() {
            return Ok(Segment::CatchAll("_".to_owned()));
        }
        check_param_name(name, rest)?;
        return Ok(Segment::CatchAll(rest.to_owned()));
    }
    if inner.is_empty() {
        return Err(format!(
            "`{name}` is an empty param: name it, as in `[id]`, or write `[...]` for a catch-all"
        ));
    }
    check_param_name(name, inner)?;
    Ok(Segment::Param(inner.to_owned()))
}

fn check_param_name(whole: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{whole}`: a param name is a Rust-style identifier (letters, digits, `_`, not starting with a digit), since it reaches `Path` under that name"
        ));
    }
    Ok(())
}

/// The name a segment's module is called after: the text, or the param's name.
fn segment_name<'a>(segment: &'a Segment, text: &'a str) -> &'a str {
    match segment {
        Segment::Static(_) => text,
        Segment::Param(name) => name,
        Segment::CatchAll(name) if name == "_" => "catch_all",
        Segment::CatchAll(name) => name,
    }
}

fn file_module(name: &str, method: Option<Method>) -> String {
    match method {
        Some(m) => module_ident(&format!("{name}_{}", m.suffix())),
        None => module_ident(name),
    }
}

/// A Rust module name for `name`: other characters become `_`, a leading digit gets a `_` in
/// front, and a keyword gets a trailing `_` (`type` -> `type_`).
pub fn module_ident(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if ident == "_" || syn::parse_str::<syn::Ident>(&ident).is_err() {
        ident.push('_');
    }
    ident
}
