//! The route table that `routes!` emits as `ROUTES`: what the router serves, and from which file,
//! and the middleware chain every route runs through.

use std::fmt;

/// What answers a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    /// A `#[nitrous::get]`-style HTTP handler.
    Http,
    /// An `impl WebSocketHandler` (served on GET, as the upgrade).
    WebSocket,
    /// A `#[nitrous::sse]` event stream (served on GET).
    Sse,
    /// An `impl Channel`: a WebSocket route speaking the channel protocol (served on GET).
    Channel,
}

impl RouteKind {
    /// `http`, `ws`, `sse` or `channel`, as the route table prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Http => "http",
            RouteKind::WebSocket => "ws",
            RouteKind::Sse => "sse",
            RouteKind::Channel => "channel",
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the route table: a method on a path, what serves it, and the file it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteInfo {
    method: &'static str,
    path: &'static str,
    kind: RouteKind,
    file: &'static str,
}

impl RouteInfo {
    #[doc(hidden)]
    pub const fn new(
        method: &'static str,
        path: &'static str,
        kind: RouteKind,
        file: &'static str,
    ) -> Self {
        RouteInfo {
            method,
            path,
            kind,
            file,
        }
    }

    /// `GET`, `POST`, ..., or `*` for a `#[nitrous::handler]` that takes every other method.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The path in axum's syntax: `/api/users/{id}`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// What the route serves: HTTP, a WebSocket or an event stream.
    pub fn kind(&self) -> RouteKind {
        self.kind
    }

    /// The route file, relative to the crate: `src/server/routes/users/[id].rs`.
    pub fn file(&self) -> &'static str {
        self.file
    }
}

/// One middleware of the chain every route runs through: its function and its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MiddlewareInfo {
    name: &'static str,
    file: &'static str,
}

impl MiddlewareInfo {
    #[doc(hidden)]
    pub const fn new(name: &'static str, file: &'static str) -> Self {
        MiddlewareInfo { name, file }
    }

    /// The function marked `#[nitrous::middleware]`: `auth`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The middleware file, relative to the crate: `src/server/middleware/01.auth.rs`.
    pub fn file(&self) -> &'static str {
        self.file
    }
}

/// Every route of a generated router, sorted as the router prefers them: most specific first
/// (static before param before catch-all), then by method; and the middleware every route runs
/// through, in the order they run. `Display` prints both as aligned tables.
#[derive(Clone, Copy, Debug)]
pub struct RouteTable {
    routes: &'static [RouteInfo],
    middleware: &'static [MiddlewareInfo],
}

impl RouteTable {
    #[doc(hidden)]
    pub const fn new(routes: &'static [RouteInfo]) -> Self {
        RouteTable {
            routes,
            middleware: &[],
        }
    }

    #[doc(hidden)]
    pub const fn with_middleware(self, middleware: &'static [MiddlewareInfo]) -> Self {
        RouteTable {
            routes: self.routes,
            middleware,
        }
    }

    /// Every route, in the order the router prefers them.
    pub fn routes(&self) -> &'static [RouteInfo] {
        self.routes
    }

    /// The middleware folder's chain, first to run first; empty without middleware.
    pub fn middleware(&self) -> &'static [MiddlewareInfo] {
        self.middleware
    }

    /// How many routes (a method and a path each).
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the routes folder serves nothing.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The routes, in the order the router prefers them.
    pub fn iter(&self) -> std::slice::Iter<'static, RouteInfo> {
        self.routes.iter()
    }
}

impl IntoIterator for &RouteTable {
    type Item = &'static RouteInfo;
    type IntoIter = std::slice::Iter<'static, RouteInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.iter()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = self
            .routes
            .iter()
            .map(|r| [r.method, r.path, r.kind.as_str(), r.file]);
        let middleware = self.middleware.iter().map(|m| [m.name, m.file]);
        write_tables(f, routes, middleware)
    }
}

/// Writes the `METHOD PATH KIND FILE` rows, then, when there are any, the `MIDDLEWARE FILE` rows
/// after a blank line, each in aligned columns (shared with `cargo nitrous routes`, through
/// `listing`).
pub(crate) fn write_tables<'a>(
    f: &mut dyn fmt::Write,
    routes: impl Iterator<Item = [&'a str; 4]> + Clone,
    middleware: impl Iterator<Item = [&'a str; 2]> + Clone,
) -> fmt::Result {
    write_table(f, ["METHOD", "PATH", "KIND", "FILE"], routes)?;
    if middleware.clone().next().is_none() {
        return Ok(());
    }
    writeln!(f)?;
    write_table(f, ["MIDDLEWARE", "FILE"], middleware)
}

/// Writes `header` and `rows` in aligned columns; the last column is not padded.
fn write_table<'a, const N: usize>(
    f: &mut dyn fmt::Write,
    header: [&'a str; N],
    rows: impl Iterator<Item = [&'a str; N]> + Clone,
) -> fmt::Result {
    let mut widths = header.map(str::len);
    for row in rows.clone() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let last = N - 1;
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                writeln!(f, "{cell}")?;
            } else {
                write!(f, "{cell:<width$}  ", width = widths[i])?;
            }
        }
    }
    Ok(())
}
