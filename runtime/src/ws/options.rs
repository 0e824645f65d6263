//! Per-handler limits and policies, each with a documented default.

use std::time::Duration;

/// Limits and policies of one WebSocket route; return them from
/// [`WebSocketHandler::options`](super::WebSocketHandler::options).
///
/// | setting | default | when exceeded |
/// |---|---|---|
/// | [`max_message_size`](Options::max_message_size) | 1 MiB | the peer is closed with 1009 |
/// | [`max_buffered`](Options::max_buffered) | 16 MiB behind per peer | the peer is closed with 1008 (slow consumer); what it had not read is dropped; other peers are unaffected |
/// | [`heartbeat`](Options::heartbeat) | a ping every 30 s, 10 s to answer | a peer silent for interval + timeout gets a close frame (1011) and is cut (close hook: 1006 `heartbeat timeout`) |
/// | [`close_timeout`](Options::close_timeout) | 5 s | a closing handshake the client does not finish is cut off |
/// | [`max_request_headers`](Options::max_request_headers) | 32 KiB | the upgrade is refused with 431 |
/// | [`write_buffer_size`](Options::write_buffer_size) | 8 KiB | (the buffer grows for a larger message and is given back once the connection is quiet; reads go through one buffer per thread, and a connection keeps only a partial frame) |
/// | [`allowed_origins`](Options::allowed_origins) | same origin only | a browser page from another origin gets 403 |
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) max_message_size: usize,
    pub(crate) max_buffered: usize,
    pub(crate) heartbeat: Option<(Duration, Duration)>,
    pub(crate) close_timeout: Duration,
    pub(crate) write_buffer_size: usize,
    pub(crate) origins: AllowedOrigins,
    pub(crate) max_request_headers: usize,
    pub(crate) namespace: Option<std::sync::Arc<str>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_message_size: 1 << 20,
            max_buffered: 16 << 20,
            heartbeat: Some((Duration::from_secs(30), Duration::from_secs(10))),
            close_timeout: Duration::from_secs(5),
            write_buffer_size: 8 << 10,
            origins: AllowedOrigins::SameOrigin,
            max_request_headers: 32 << 10,
            namespace: None,
        }
    }
}

impl Options {
    /// The largest message a peer may send, in bytes; a larger one closes the peer with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How far one peer may fall behind, in bytes: what was sent to it and what its topics hold
    /// that it has not read yet, each message counted with the ~60 bytes its entry costs. A peer
    /// further behind is a slow consumer: it is closed with 1008, what it had not read is dropped,
    /// and its sends fail, so memory stays bounded.
    ///
    /// One message always fits a peer that has caught up, whatever its size, so the largest
    /// message never closes a reader that keeps reading. The default, 16 MiB (Bun's
    /// `backpressureLimit`), lets such a reader be sixteen largest messages behind in a burst; a
    /// topic's messages are kept once however many of its subscribers are behind, so a room of
    /// stalled peers costs one lag's worth of memory, not one per peer.
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// Ping every `interval`; a peer that sends nothing (not even the pong) for `interval +
    /// timeout` is sent a close frame (1011 `heartbeat timeout`) and cut. A peer that floods pings
    /// and does not read their pongs is not read until its socket takes them, so it falls silent
    /// and meets this timeout.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat = Some((interval, timeout));
        self
    }

    /// No pings, no dead-peer detection.
    pub fn no_heartbeat(mut self) -> Self {
        self.heartbeat = None;
        self
    }

    /// How long a closing handshake may take before the connection is cut.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How many bytes of frames are gathered before they are written (what is queued is flushed
    /// together in any case). A large message or batch grows the buffer; once the connection is
    /// quiet and it grew past this size, it is given back.
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// How many bytes of headers an upgrade request may carry (each `name: value` line counted
    /// whole). A peer keeps its upgrade's headers ([`Peer::headers`](super::Peer::headers)) for as
    /// long as it is connected, so they are bounded: a larger upgrade is refused with 431. The
    /// default, 32 KiB, is nginx's (4 × 8 KiB).
    pub fn max_request_headers(mut self, bytes: usize) -> Self {
        self.max_request_headers = bytes;
        self
    }

    /// Which browser origins may open the socket; see [`AllowedOrigins`].
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.origins = origins;
        self
    }

    /// Puts the route's topics in namespace `name` (crossws 0.4's namespaces): its peers publish
    /// and subscribe in topics of their own, which routes of another namespace, and app-wide
    /// topics (event streams, HTTP handlers, tasks, routes without a namespace), do not hear.
    /// Routes naming the same namespace share its topics. Server-side code publishes into it with
    /// [`Hub::namespace`](crate::Hub::namespace). By default a route has none: its topics are
    /// the app's.
    pub fn namespace(mut self, name: &str) -> Self {
        self.namespace = Some(std::sync::Arc::from(name));
        self
    }
}

/// The origin check on the upgrade, against cross-site WebSocket hijacking. A request without an
/// `Origin` header (a non-browser client) is always allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowedOrigins {
    /// The page's origin must name the host the request was sent to (the `Host` header).
    SameOrigin,
    /// The same origin, or one of these (`"https://app.example.com"`, exact match).
    List(Vec<String>),
    /// Any origin. Only for sockets that carry no cookie-based authority.
    Any,
}

impl AllowedOrigins {
    /// Same origin plus the given ones.
    pub fn list<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Self {
        AllowedOrigins::List(origins.into_iter().map(Into::into).collect())
    }

    /// Whether a request with `origin` sent to `host` may upgrade.
    /// Under `cargo nitrous dev`, `localhost`, `127.0.0.1` and `[::1]` count as one host.
    pub(crate) fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        self.allows_in(origin, host, crate::dev::enabled())
    }

    fn allows_in(&self, origin: Option<&str>, host: Option<&str>, dev: bool) -> bool {
        let Some(origin) = origin else { return true };
        let same = host.is_some_and(|host| {
            origin.split_once("://").is_some_and(|(_, authority)| {
                authority.eq_ignore_ascii_case(host)
                    || (dev && crate::dev::same_loopback(authority, host))
            })
        });
        match self {
            AllowedOrigins::Any => true,
            AllowedOrigins::SameOrigin => same,
            AllowedOrigins::List(list) => {
                same || list.iter().any(|o| o.eq_ignore_ascii_case(origin))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AllowedOrigins;

    #[test]
    fn origin_rules() {
        let same = AllowedOrigins::SameOrigin;
        assert!(
            same.allows(None, Some("a.test")),
            "no Origin: not a browser"
        );
        assert!(same.allows(Some("http://a.test:3000"), Some("a.test:3000")));
        assert!(same.allows(Some("https://A.test"), Some("a.test")));
        assert!(!same.allows(Some("http://evil.test"), Some("a.test")));
        assert!(!same.allows(Some("http://a.test:4000"), Some("a.test:3000")));
        assert!(!same.allows(Some("null"), Some("a.test")));
        let list = AllowedOrigins::list(["https://app.test"]);
        assert!(list.allows(Some("https://app.test"), Some("api.test")));
        assert!(!list.allows(Some("https://other.test"), Some("api.test")));
        assert!(AllowedOrigins::Any.allows(Some("http://evil.test"), Some("a.test")));
    }

    #[test]
    fn dev_takes_the_loopback_names_for_one_host() {
        let same = AllowedOrigins::SameOrigin;
        let (page, server) = (Some("http://localhost:3000"), Some("127.0.0.1:3000"));
        assert!(!same.allows_in(page, server, false), "not outside dev");
        assert!(same.allows_in(page, server, true));
        assert!(same.allows_in(Some("http://[::1]:3000"), server, true));
        assert!(!same.allows_in(Some("http://localhost:4000"), server, true));
        assert!(!same.allows_in(Some("http://evil.test:3000"), server, true));
    }

    proptest::proptest! {
        /// Any `Origin` and `Host` a client sends: no panic, and same-origin holds exactly when
        /// the origin's authority is the host.
        #[test]
        fn any_origin_and_host(origin in ".{0,40}", host in ".{0,20}", scheme in "(http|https|ws|)") {
            let origin = if scheme.is_empty() { origin } else { format!("{scheme}://{origin}") };
            let same = AllowedOrigins::SameOrigin.allows(Some(&origin), Some(&host));
            let authority = origin.split_once("://").map(|(_, a)| a);
            proptest::prop_assert_eq!(same, authority.is_some_and(|a| a.eq_ignore_ascii_case(&host)));
            proptest::prop_assert!(AllowedOrigins::SameOrigin.allows(None, Some(&host)));
            proptest::prop_assert!(AllowedOrigins::Any.allows(Some(&origin), None));
        }
    }
}
