//! What nitrous reports through the [`metrics`](https://docs.rs/metrics) facade, for an operator
//! to graph: connections, WebSocket peers and their traffic, refused upgrades, slow consumers,
//! heartbeat timeouts, hook panics, event streams, and the hub's publishes and deliveries.
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

/// The handles of the metrics counted on hot paths, registered once (with the recorder installed
/// then): an event costs an atomic add, not a lookup.
pub(crate) struct Meters {
    pub(crate) peers: Gauge,
    pub(crate) messages_received: Counter,
    pub(crate) bytes_received: Counter,
    pub(crate) messages_sent: Counter,
    pub(crate) bytes_sent: Counter,
    pub(crate) slow_consumers: Counter,
    pub(crate) heartbeat_timeouts: Counter,
    pub(crate) event_streams: Gauge,
}

/// The process's handles, registered (and the metrics described) on first use.
pub(crate) fn meters() -> &'static Meters {
    static METERS: OnceLock<Meters> = OnceLock::new();
    METERS.get_or_init(|| {
        describe();
        Meters {
            peers: gauge!(PEERS),
            messages_received: counter!(MESSAGES_RECEIVED),
            bytes_received: counter!(BYTES_RECEIVED),
            messages_sent: counter!(MESSAGES_SENT),
            bytes_sent: counter!(BYTES_SENT),
            slow_consumers: counter!(SLOW_CONSUMERS),
            heartbeat_timeouts: counter!(HEARTBEAT_TIMEOUTS),
            event_streams: gauge!(EVENT_STREAMS),
        }
    })
}

/// One open connection of `serve`'s, counted while it lives.
pub(crate) struct OpenConnection(Gauge);

impl OpenConnection {
    pub(crate) fn new(protocol: &'static str, tls: bool) -> OpenConnection {
        let _ = meters(); // described
        let gauge = gauge!(CONNECTIONS, "protocol" => protocol, "tls" => if tls { "true" } else { "false" });
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
    let _ = meters();
    counter!(UPGRADES, "outcome" => outcome).increment(1);
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
}
