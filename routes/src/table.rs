//! The route table that `routes!` emits as `ROUTES`: what the router serves, and from which file.

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

/// Every route of a generated router, sorted as the router prefers them: most specific first
/// (static before param before catch-all), then by method. `Display` prints an aligned table.
#[derive(Clone, Copy, Debug)]
pub struct RouteTable(&'static [RouteInfo]);

impl RouteTable {
    #[doc(hidden)]
    pub const fn new(routes: &'static [RouteInfo]) -> Self {
        RouteTable(routes)
    }

    /// Every route, in the order the router prefers them.
    pub fn routes(&self) -> &'static [RouteInfo] {
        self.0
    }

    /// How many routes (a method and a path each).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the routes folder serves nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The routes, in the order the router prefers them.
    pub fn iter(&self) -> std::slice::Iter<'static, RouteInfo> {
        self.0.iter()
    }
}

impl IntoIterator for &RouteTable {
    type Item = &'static RouteInfo;
    type IntoIter = std::slice::Iter<'static, RouteInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self
            .0
            .iter()
            .map(|r| [r.method, r.path, r.kind.as_str(), r.file]);
        write_table(f, rows)
    }
}

/// Writes `METHOD PATH KIND FILE` rows in aligned columns (shared with `cargo nitrous routes`,
/// through `listing`).
pub(crate) fn write_table<'a>(
    f: &mut dyn fmt::Write,
    rows: impl Iterator<Item = [&'a str; 4]> + Clone,
) -> fmt::Result {
    let header = ["METHOD", "PATH", "KIND", "FILE"];
    let mut widths = header.map(str::len);
    for row in rows.clone() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let [method, path, kind, file] = row;
        let [w0, w1, w2, _] = widths;
        writeln!(f, "{method:<w0$}  {path:<w1$}  {kind:<w2$}  {file}")?;
    }
    Ok(())
}
