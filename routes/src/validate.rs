//! The whole route table: every file mapped, classified and checked against the others.
//!
//! Produces what `expand.rs` emits (the module tree and the routes grouped by path, each on a
//! router layer) and every problem found, each naming the file(s) and the fix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::classify::{self, Attr, Content};
use crate::route::{self, Method, RouteFile, Segment};
use crate::scan::Found;

/// What an endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Serve {
    /// That method only.
    Method(Method),
    /// Every method that no other endpoint of the path takes.
    Any,
}

impl Serve {
    /// The route table's `method` column: `GET`, or `*` for every method.
    pub fn label(self) -> &'static str {
        match self {
            Serve::Method(m) => m.upper(),
            Serve::Any => "*",
        }
    }
}

/// What kind of thing answers a route (the route table's `kind` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP handler.
    Http,
    /// A WebSocket handler (the upgrade).
    WebSocket,
    /// A `#[nitrous::sse]` function.
    Sse,
    /// A channel (a WebSocket route speaking the channel protocol).
    Channel,
}

/// What answers an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A handler function, by name in its module.
    Handler(String),
    /// A `#[nitrous::sse]` function (a handler after its attribute's rewrite).
    Sse(String),
    /// A WebSocket handler type (a path in its module), with the file's HTTP GET handler, if any,
    /// for GET requests that are not upgrades.
    WebSocket {
        /// The handler type.
        ty: String,
        /// The GET handler for requests that are not upgrades.
        http_get: Option<String>,
        /// An `impl Channel` rather than an `impl WebSocketHandler`.
        channel: bool,
        /// A channel whose file has `impl Requests` for it.
        requests: bool,
    },
}

/// One handler on one path.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The methods it answers.
    pub serve: Serve,
    /// Index into [`Table::files`].
    pub file: usize,
    /// What answers it.
    pub target: Target,
}

impl Endpoint {
    /// HTTP, WebSocket or SSE.
    pub fn kind(&self) -> Kind {
        match self.target {
            Target::Handler(_) => Kind::Http,
            Target::Sse(_) => Kind::Sse,
            Target::WebSocket { channel: false, .. } => Kind::WebSocket,
            Target::WebSocket { channel: true, .. } => Kind::Channel,
        }
    }
}

/// Every endpoint of one path.
#[derive(Clone, Debug)]
pub struct Route {
    /// The path's segments, without the prefix.
    pub segments: Vec<Segment>,
    /// The path in axum's syntax, prefix included.
    pub path: String,
    /// Routes on layer `n + 1` are tried when nothing on layer `n` matches the path; see
    /// [`assign_layers`].
    pub layer: usize,
    /// One per method it answers, sorted.
    pub endpoints: Vec<Endpoint>,
}

/// A route file, as the generated module tree holds it.
#[derive(Clone, Debug)]
pub struct File {
    /// `users/[id].rs`, under the routes folder.
    pub rel: String,
    /// Its path on disk, for `#[path]`.
    pub path: PathBuf,
    /// The file's module path under `routes`; `None` when the name could not be mapped.
    pub module: Option<Vec<String>>,
    /// What in the file needs the router's state.
    pub states: Vec<classify::StateUse>,
    /// Its event streams' declared data types: handler name, type (`#[nitrous::sse(data = T)]`).
    pub sse_data: Vec<(String, String)>,
}

/// The route table of a routes folder: its files and its routes.
#[derive(Debug, Default)]
pub struct Table {
    /// Every file found, in scan order.
    pub files: Vec<File>,
    /// Sorted as the router prefers them (most specific first).
    pub routes: Vec<Route>,
}

/// Builds the route table from the scanned files, checking it as it goes: every problem found is
/// one message in the returned list. `shown_root` is the routes folder as the user sees it
/// (`src/server/routes`), for messages; `prefix` is what HTTP routes are served under (`""` or
/// `/api`).
pub fn build_table(found: Vec<Found>, shown_root: &str, prefix: &str) -> (Table, Vec<String>) {
    let shown = |rel: &str| format!("{shown_root}/{rel}");
    let mut errors = Vec::new();
    let mut table = Table::default();
    let prefix_segments: Vec<Segment> = prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| Segment::Static(s.to_owned()))
        .collect();
    // (full segments, endpoint) before grouping
    let mut endpoints: Vec<(Vec<Segment>, Endpoint)> = Vec::new();

    for found in found {
        let index = table.files.len();
        let route = match route::parse(&found.rel) {
            Ok(route) => Some(route),
            Err(problems) => {
                errors.extend(
                    problems
                        .into_iter()
                        .map(|p| format!("{}: {p}", shown(&found.rel))),
                );
                None
            }
        };
        table.files.push(File {
            rel: found.rel.clone(),
            path: found.path,
            module: route.as_ref().map(|r| r.module.clone()),
            states: Vec::new(),
            sse_data: Vec::new(),
        });
        let text = match found.text {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!(
                    "{}: cannot read this route file ({e}); fix its permissions or move it out of the routes folder",
                    shown(&found.rel)
                ));
                continue;
            }
        };
        // A file that does not parse is left to rustc, which reports the error at its line.
        let (Some(route), Some(content)) = (route, classify::classify(&text)) else {
            continue;
        };
        table.files[index].states = content.states.clone();
        table.files[index].sse_data = content
            .handlers
            .iter()
            .filter_map(|h| Some((h.ident.clone(), h.data.clone()?)))
            .collect();
        if !content.sockets.is_empty() {
            errors.extend(unknown_params(&route, &text, &shown(&found.rel)));
        }
        let file_endpoints =
            file_endpoints(&route, &content, index, &shown(&found.rel), &mut errors);
        // WebSocket routes skip the API prefix, as in Analog (its API middleware does not see
        // them); the file's other handlers share the WebSocket's path.
        let mut segments = if content.sockets.is_empty() {
            prefix_segments.clone()
        } else {
            Vec::new()
        };
        segments.extend(route.segments.iter().cloned());
        endpoints.extend(file_endpoints.into_iter().map(|e| (segments.clone(), e)));
    }

    check_modules(&table.files, &shown, &mut errors);
    table.routes = group(endpoints, &table.files, &shown, &mut errors);
    assign_layers(&mut table.routes);
    (table, errors)
}

/// `.param("name")` calls in a WebSocket route file that name no param of its route: `Peer::param`
/// and `UpgradeRequest::param` return the value the route guarantees, so a name the route lacks
/// is reported here, with its line, rather than at run time.
fn unknown_params(route: &RouteFile, text: &str, shown: &str) -> Vec<String> {
    let names: Vec<&str> = route
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Param(name) | Segment::CatchAll(name) => Some(name.as_str()),
            Segment::Static(_) => None,
        })
        .collect();
    let has = match names.as_slice() {
        [] => "no params".to_owned(),
        [name] => format!("the param `{name}`"),
        names => format!(
            "the params {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut errors = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(".param(") {
            rest = &rest[at + ".param(".len()..];
            let Some(quoted) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some(end) = quoted.find('"') else {
                continue;
            };
            let name = &quoted[..end];
            if !names.contains(&name) {
                errors.push(format!(
                    "{shown}:{}: `param(\"{name}\")`: this route has {has}, and no `{name}`; a param's name is the one in brackets in the file's path",
                    number + 1
                ));
            }
        }
    }
    errors
}

/// The endpoints one file declares, checked against its method suffix and each other.
fn file_endpoints(
    route: &RouteFile,
    content: &Content,
    index: usize,
    shown: &str,
    errors: &mut Vec<String>,
) -> Vec<Endpoint> {
    if content.handlers.is_empty() && content.sockets.is_empty() {
        errors.push(format!(
            "{shown} serves nothing: add a handler such as `#[nitrous::get] pub async fn get() -> &'static str {{ \"hello\" }}`, or, if it is code other routes share, move it out of the routes folder into a module of the crate (`src/shared.rs` with `mod shared;` beside `routes!`, used as `crate::shared::...`)"
        ));
        return Vec::new();
    }
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for handler in &content.handlers {
        let serve = match (handler.attr, route.method) {
            (Attr::Middleware, _) => {
                errors.push(format!(
                    "{shown}: `{}` is a middleware, which runs before every route rather than answering one; move it to a file of its own in the middleware folder beside the routes folder (`src/server/middleware/{}.rs`)",
                    handler.ident, handler.ident
                ));
                continue;
            }
            (Attr::Sse, None | Some(Method::Get)) => Serve::Method(Method::Get),
            (Attr::Sse, Some(suffix)) => {
                errors.push(format!(
                    "{shown}: `{}` is an event stream, served on GET, but the file name restricts the route to {suffix}; drop the method suffix",
                    handler.ident
                ));
                continue;
            }
            (Attr::Any, None) => Serve::Any,
            (Attr::Any, Some(m)) => Serve::Method(m),
            (Attr::Method(m), None) => Serve::Method(m),
            (Attr::Method(m), Some(suffix)) if m == suffix => Serve::Method(m),
            (Attr::Method(m), Some(suffix)) => {
                errors.push(format!(
                    "{shown}: `{}` is marked `#[nitrous::{}]`, but the file name restricts the route to {suffix}; use `#[nitrous::{}]` or `#[nitrous::handler]`, or rename the file",
                    handler.ident,
                    m.suffix(),
                    suffix.suffix()
                ));
                continue;
            }
        };
        if let Some(twin) = endpoints.iter().find(|e| e.serve == serve) {
            let twin = match &twin.target {
                Target::Handler(name) | Target::Sse(name) => name.as_str(),
                Target::WebSocket { ty, .. } => ty.as_str(),
            };
            errors.push(format!(
                "{shown}: `{twin}` and `{}` both answer {}; keep one handler per method in a file",
                handler.ident,
                describe(serve)
            ));
            continue;
        }
        if handler.callable {
            endpoints.push(Endpoint {
                serve,
                file: index,
                target: match handler.attr {
                    Attr::Sse => Target::Sse(handler.ident.clone()),
                    _ => Target::Handler(handler.ident.clone()),
                },
            });
        }
    }
    match content.sockets.as_slice() {
        [] => {}
        [socket] => {
            if let Some(problem) = &socket.problem {
                errors.push(format!("{shown}: {problem}"));
            } else if let Some(m) = route.method.filter(|m| *m != Method::Get) {
                errors.push(format!(
                    "{shown}: a WebSocket route answers the GET upgrade, but the file name restricts it to {m}; drop the method suffix"
                ));
            } else {
                // The file's HTTP GET handler (or its every-method handler) answers plain GETs.
                let get = Serve::Method(Method::Get);
                let http_get = match endpoints.iter().position(|e| e.serve == get) {
                    Some(i) => match endpoints.remove(i).target {
                        Target::Handler(name) | Target::Sse(name) => Some(name),
                        Target::WebSocket { .. } => None,
                    },
                    None => endpoints.iter().find_map(|e| match (&e.target, e.serve) {
                        (Target::Handler(name), Serve::Any) => Some(name.clone()),
                        _ => None,
                    }),
                };
                let (ty, channel, requests) = (socket.ty.clone(), socket.channel, socket.requests);
                let target = Target::WebSocket { ty, http_get, channel, requests };
                endpoints.insert(0, Endpoint { serve: get, file: index, target });
            }
        }
        [first, second, ..] => errors.push(format!(
            "{shown}: `{}` and `{}` are both WebSocket handlers; one route has one, so move one to a file of its own",
            first.ty, second.ty
        )),
    }
    endpoints
}

fn describe(serve: Serve) -> String {
    match serve {
        Serve::Method(m) => m.upper().to_owned(),
        Serve::Any => "every method (`#[nitrous::handler]`)".to_owned(),
    }
}

/// Two files whose module paths coincide (`id.rs` beside `[id].rs`) cannot both be modules.
fn check_modules(files: &[File], shown: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    let mut seen: BTreeMap<&[String], &str> = BTreeMap::new();
    for file in files {
        let Some(module) = &file.module else { continue };
        if let Some(first) = seen.insert(module, &file.rel) {
            errors.push(format!(
                "{} and {} would both be the module `routes::{}`; rename one of them",
                shown(first),
                shown(&file.rel),
                module.join("::")
            ));
        }
    }
}

/// Groups endpoints by path, reporting two files that answer the same route and method, and one
/// route spelled with two param names.
fn group(
    endpoints: Vec<(Vec<Segment>, Endpoint)>,
    files: &[File],
    shown: &dyn Fn(&str) -> String,
    errors: &mut Vec<String>,
) -> Vec<Route> {
    let mut by_shape: BTreeMap<Vec<Segment>, Route> = BTreeMap::new();
    for (segments, endpoint) in endpoints {
        let shape: Vec<Segment> = segments.iter().map(Segment::shape).collect();
        let route = by_shape.entry(shape).or_insert_with(|| Route {
            path: route::axum_path("", &segments),
            segments: segments.clone(),
            layer: 0,
            endpoints: Vec::new(),
        });
        let first_file = route.endpoints.first().map(|e| e.file);
        if route.segments != segments {
            let first = first_file.map_or("", |f| files[f].rel.as_str());
            let message = format!(
                "{} and {} are the same route with different param names ({} and {}); name the params alike, since one route has one set of names",
                shown(first),
                shown(&files[endpoint.file].rel),
                route.path,
                route::axum_path("", &segments)
            );
            if !errors.contains(&message) {
                errors.push(message);
            }
            continue;
        }
        if let Some(twin) = route.endpoints.iter().find(|e| e.serve == endpoint.serve) {
            errors.push(if twin.file == endpoint.file {
                format!(
                    "{} answers {} {} twice; keep one handler",
                    shown(&files[twin.file].rel),
                    describe(endpoint.serve),
                    route.path
                )
            } else {
                let (first, second) = (&files[twin.file].rel, &files[endpoint.file].rel);
                let suffixed = |rel: &str| route::parse(rel).is_ok_and(|f| f.method.is_some());
                let advice = if suffixed(first) && suffixed(second) {
                    "remove one of them, or move one to another path (a `(group)` folder leaves the path as it is)"
                } else {
                    "remove one of them, or give them different method suffixes (`NAME.get.rs`, `NAME.post.rs`)"
                };
                format!(
                    "{} and {} both answer {} {}; {advice}",
                    shown(first),
                    shown(second),
                    describe(endpoint.serve),
                    route.path
                )
            });
            continue;
        }
        route.endpoints.push(endpoint);
    }
    let mut routes: Vec<Route> = by_shape.into_values().collect();
    for route in &mut routes {
        route.endpoints.sort_by_key(|e| e.serve);
    }
    routes.sort_by(|a, b| route::precedence(&a.segments, &b.segments));
    routes
}

/// Whether some request path matches both routes (a catch-all needs at least one segment).
pub fn overlaps(a: &[Segment], b: &[Segment]) -> bool {
    for i in 0.. {
        match (a.get(i), b.get(i)) {
            (None, None) => return true,
            (Some(Segment::CatchAll(_)), other) | (other, Some(Segment::CatchAll(_))) => {
                return other.is_some();
            }
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(Segment::Static(x)), Some(Segment::Static(y))) if x != y => return false,
            _ => {}
        }
    }
    unreachable!("the loop returns once both routes end")
}

/// Whether axum's matcher refuses the two routes in one router: after a common prefix of the same
/// shape, one has a param where the other has a catch-all.
pub fn matcher_conflict(a: &[Segment], b: &[Segment]) -> bool {
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Segment::Param(_), Segment::CatchAll(_))
            | (Segment::CatchAll(_), Segment::Param(_)) => {
                return true;
            }
            _ if x.shape() != y.shape() => return false,
            _ => {}
        }
    }
    false
}

/// Puts each route on a router layer, so that Nitro's precedence holds where axum's matcher cannot
/// hold both routes in one router (`users/[id].rs` beside `users/[...rest].rs`).
///
/// Routes come sorted most specific first. A route goes on the lowest layer that is no lower than
/// any more specific route that can match the same request, and strictly above one it conflicts
/// with. A request tries layer 0 and falls through to the next layer only when no path matches,
/// so a more specific route always gets the first try.
pub fn assign_layers(routes: &mut [Route]) {
    for i in 0..routes.len() {
        let (placed, rest) = routes.split_at_mut(i);
        let route = &mut rest[0];
        route.layer = placed
            .iter()
            .filter(|other| overlaps(&other.segments, &route.segments))
            .map(|other| {
                other.layer + usize::from(matcher_conflict(&other.segments, &route.segments))
            })
            .max()
            .unwrap_or(0);
    }
}
