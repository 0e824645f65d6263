//! What nitrous reports through the [`metrics`](https://docs.rs/metrics) facade, for an operator
//! to graph: connections, WebSocket peers and their traffic, refused upgrades, slow consumers,
//! heartbeat timeouts, hook panics, event streams, the hub's publishes, deliveries, replays and
//! gaps, and how far behind Redis the instance is.
//!
//! Install an exporter (a recorder: `metrics-exporter-prometheus`, or any other) before
//! [`serve`](crate::serve) starts; nitrous registers its metrics on first use, so one installed
//! later sees only the per-event ones. Without a recorder nothing is recorded and each event
//! costs a call that does nothing. The names, and what each counts:
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `nitrous_connections` | gauge | `protocol` (`http/1.1`, `h2`), `tls` | open connections `serve` accepted |
//! | `nitrous_websocket_peers` | gauge | | open WebSocket sessions |
//! | `nitrous_websocket_upgrades_total` | counter | `outcome` | handshakes: `accepted`, or why refused: `origin`, `handshake`, `headers`, `refused` (the `upgrade` hook), `panic` |
//! | `nitrous_websocket_messages_received_total` | counter | | messages read from peers |
//! | `nitrous_websocket_bytes_received_total` | counter | | their payload bytes |
//! | `nitrous_websocket_messages_sent_total` | counter | | messages written to peers (topic deliveries included) |
//! | `nitrous_websocket_bytes_sent_total` | counter | | their payload bytes |
//! | `nitrous_websocket_slow_consumers_total` | counter | | peers closed for falling `max_buffered` behind |
//! | `nitrous_websocket_heartbeat_timeouts_total` | counter | | peers cut for not answering pings |
//! | `nitrous_hook_panics_total` | counter | `hook` | hooks that panicked (the peer was closed with 1011, or the upgrade answered 500) |
//! | `nitrous_event_streams` | gauge | | open event streams (SSE) |
//! | `nitrous_publishes_total` | counter | | messages published on this instance |
//! | `nitrous_deliveries_total` | counter | | subscribers that took a message (from here or, through the broker, from elsewhere) |
//! | `nitrous_replayed_total` | counter | | retained messages replayed to subscribers that resumed |
//! | `nitrous_gaps_total` | counter | | resumes that could not replay everything missed (a `topic_gap`) |
//! | `nitrous_redis_queue_bytes` | gauge | | what waits for Redis: how far this instance is behind it |
//! | `nitrous_redis_refused_total` | counter | | publishes refused because that queue was full (they reached this instance only) |
//! | `nitrous_redis_reconnects_total` | counter | | reconnects to Redis after it was lost |

use std::sync::OnceLock;

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

/// Gauge: open connections, labelled `protocol` and `tls`.
pub const CONNECTIONS: &str = "nitrous_connections";
/// Gauge: open WebSocket sessions.
pub const PEERS: &str = "nitrous_websocket_peers";
/// Counter: WebSocket handshakes, labelled `outcome`.
pub const UPGRADES: &str = "nitrous_websocket_upgrades_total";
/// Counter: WebSocket messages read from peers.
pub const MESSAGES_RECEIVED: &str = "nitrous_websocket_messages_received_total";
/// Counter: payload bytes of WebSocket messages read.
pub const BYTES_RECEIVED: &str = "nitrous_websocket_bytes_received_total";
/// Counter: WebSocket messages written to peers.
pub const MESSAGES_SENT: &str = "nitrous_websocket_messages_sent_total";
/// Counter: payload bytes of WebSocket messages written.
pub const BYTES_SENT: &str = "nitrous_websocket_bytes_sent_total";
/// Counter: WebSocket peers closed as slow consumers.
pub const SLOW_CONSUMERS: &str = "nitrous_websocket_slow_consumers_total";
/// Counter: WebSocket peers cut for not answering pings.
pub const HEARTBEAT_TIMEOUTS: &str = "nitrous_websocket_heartbeat_timeouts_total";
/// Counter: hooks that panicked, labelled `hook`.
pub const HOOK_PANICS: &str = "nitrous_hook_panics_total";
/// Gauge: open event streams.
pub const EVENT_STREAMS: &str = "nitrous_event_streams";
/// Counter: messages published on this instance.
pub const PUBLISHES: &str = "nitrous_publishes_total";
/// Counter: subscribers that took a message.
pub const DELIVERIES: &str = "nitrous_deliveries_total";
/// Counter: retained messages replayed to resuming subscribers.
pub const REPLAYED: &str = "nitrous_replayed_total";
/// Counter: resumes that could not replay everything missed.
pub const GAPS: &str = "nitrous_gaps_total";
/// Gauge: bytes queued for Redis.
pub const REDIS_QUEUE_BYTES: &str = "nitrous_redis_queue_bytes";
/// Counter: publishes refused by a full Redis queue.
pub const REDIS_REFUSED: &str = "nitrous_redis_refused_total";
/// Counter: reconnects to Redis.
pub const REDIS_RECONNECTS: &str = "nitrous_redis_reconnects_total";

/// The handles of the metrics counted on hot paths, registered once (with the recorder installed
/// then): an event costs an atomic add, not a lookup.
pub(crate) struct Meters {
    /// Open connections: HTTP/1.1 and HTTP/2, each in cleartext and over TLS.
    connections: [[Gauge; 2]; 2],
    pub(crate) peers: Gauge,
    /// Upgrades accepted (refusals, which are rarer, are looked up by their outcome).
    upgrades_accepted: Counter,
    pub(crate) messages_received: Counter,
    pub(crate) bytes_received: Counter,
    pub(crate) messages_sent: Counter,
    pub(crate) bytes_sent: Counter,
    pub(crate) slow_consumers: Counter,
    pub(crate) heartbeat_timeouts: Counter,
    pub(crate) event_streams: Gauge,
    pub(crate) publishes: Counter,
    pub(crate) deliveries: Counter,
    pub(crate) replayed: Counter,
    pub(crate) gaps: Counter,
    #[cfg(feature = "redis")]
    pub(crate) redis_queue_bytes: Gauge,
    #[cfg(feature = "redis")]
    pub(crate) redis_refused: Counter,
    #[cfg(feature = "redis")]
    pub(crate) redis_reconnects: Counter,
}

/// The process's handles, registered (and the metrics described) on first use.
pub(crate) fn meters() -> &'static Meters {
    static METERS: OnceLock<Meters> = OnceLock::new();
    METERS.get_or_init(|| {
        describe();
        let connections = |protocol: &'static str| {
            [false, true].map(|tls| {
                let tls = if tls { "true" } else { "false" };
                gauge!(CONNECTIONS, "protocol" => protocol, "tls" => tls)
            })
        };
        Meters {
            connections: [connections("http/1.1"), connections("h2")],
            peers: gauge!(PEERS),
            upgrades_accepted: counter!(UPGRADES, "outcome" => "accepted"),
            messages_received: counter!(MESSAGES_RECEIVED),
            bytes_received: counter!(BYTES_RECEIVED),
            messages_sent: counter!(MESSAGES_SENT),
            bytes_sent: counter!(BYTES_SENT),
            slow_consumers: counter!(SLOW_CONSUMERS),
            heartbeat_timeouts: counter!(HEARTBEAT_TIMEOUTS),
            event_streams: gauge!(EVENT_STREAMS),
            publishes: counter!(PUBLISHES),
            deliveries: counter!(DELIVERIES),
            replayed: counter!(REPLAYED),
            gaps: counter!(GAPS),
            #[cfg(feature = "redis")]
            redis_queue_bytes: gauge!(REDIS_QUEUE_BYTES),
            #[cfg(feature = "redis")]
            redis_refused: counter!(REDIS_REFUSED),
            #[cfg(feature = "redis")]
            redis_reconnects: counter!(REDIS_RECONNECTS),
        }
    })
}

/// One open connection of `serve`'s, counted while it lives.
pub(crate) struct OpenConnection(&'static Gauge);

impl OpenConnection {
    /// An HTTP/2 connection (else HTTP/1.1), over TLS or not.
    pub(crate) fn new(http2: bool, tls: bool) -> OpenConnection {
        let gauge = &meters().connections[usize::from(http2)][usize::from(tls)];
        gauge.increment(1.0);
        OpenConnection(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A WebSocket handshake's outcome: `accepted`, or why it was refused.
pub(crate) fn upgrade(outcome: &'static str) {
    let meters = meters();
    if outcome == "accepted" {
        meters.upgrades_accepted.increment(1);
    } else {
        counter!(UPGRADES, "outcome" => outcome).increment(1);
    }
}

/// A subscriber resumed: `entries` replayed, and whether some it missed were not.
pub(crate) fn resumed(entries: usize, gap: bool) {
    let meters = meters();
    meters.replayed.increment(entries as u64);
    if gap {
        meters.gaps.increment(1);
    }
}

/// A hook panicked.
pub(crate) fn hook_panicked(hook: &'static str) {
    let _ = meters();
    counter!(HOOK_PANICS, "hook" => hook).increment(1);
}

fn describe() {
    describe_gauge!(CONNECTIONS, "open connections, by protocol and TLS");
    describe_gauge!(PEERS, "open WebSocket sessions");
    describe_counter!(
        UPGRADES,
        "WebSocket handshakes, by outcome (accepted, or why refused)"
    );
    describe_counter!(MESSAGES_RECEIVED, "WebSocket messages read from peers");
    describe_counter!(
        BYTES_RECEIVED,
        Unit::Bytes,
        "payload bytes of WebSocket messages read"
    );
    describe_counter!(MESSAGES_SENT, "WebSocket messages written to peers");
    describe_counter!(
        BYTES_SENT,
        Unit::Bytes,
        "payload bytes of WebSocket messages written"
    );
    describe_counter!(SLOW_CONSUMERS, "WebSocket peers closed as slow consumers");
    describe_counter!(
        HEARTBEAT_TIMEOUTS,
        "WebSocket peers cut for not answering pings"
    );
    describe_counter!(HOOK_PANICS, "hooks that panicked, by hook");
    describe_gauge!(EVENT_STREAMS, "open event streams");
    describe_counter!(PUBLISHES, "messages published on this instance");
    describe_counter!(DELIVERIES, "subscribers that took a message");
    describe_counter!(
        REPLAYED,
        "retained messages replayed to resuming subscribers"
    );
    describe_counter!(GAPS, "resumes that could not replay everything missed");
    describe_gauge!(REDIS_QUEUE_BYTES, Unit::Bytes, "bytes waiting for Redis");
    describe_counter!(REDIS_REFUSED, "publishes refused by a full Redis queue");
    describe_counter!(REDIS_RECONNECTS, "reconnects to Redis after it was lost");
}
