//! Every hook and every `Peer` method, driven by commands a test sends, recording what happened in
//! the router state (a stateful handler, built from `AppState` by `FromRef`).

use std::sync::Arc;
use std::time::Duration;

use nitrous::axum::extract::FromRef;
use nitrous::axum::http::{HeaderName, HeaderValue, StatusCode};
use nitrous::ws::{
    Close, CloseCode, Error, Message, Options, Peer, Refusal, TopicMessage, Upgrade, UpgradeRequest,
    WebSocketHandler,
};

use crate::{AppState, Events};

pub struct Probe {
    events: Arc<Events>,
}

impl FromRef<AppState> for Probe {
    fn from_ref(state: &AppState) -> Self {
        Probe { events: state.events.clone() }
    }
}

/// The per-peer context `upgrade` attaches.
#[derive(Debug)]
pub struct Who {
    pub name: String,
}

impl WebSocketHandler for Probe {
    fn options(&self) -> Options {
        Options::default()
            .max_message_size(1024)
            .max_buffered(64 << 10)
            .heartbeat(Duration::from_millis(200), Duration::from_millis(200))
            .close_timeout(Duration::from_millis(500))
    }

    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let query = request.uri().query().unwrap_or_default();
        let Some(name) = query.strip_prefix("name=") else {
            return Err((StatusCode::UNAUTHORIZED, "who are you? add ?name=").into());
        };
        self.events.push(format!("upgrade {name} {}", request.remote_addr().is_some()));
        let mut accepted = Upgrade::accept()
            .header(HeaderName::from_static("x-probe"), HeaderValue::from_static("yes"))
            .context(Who { name: name.to_owned() });
        if request.protocols().any(|p| p == "probe.v2") {
            accepted = accepted.protocol("probe.v2");
        }
        Ok(accepted)
    }

    async fn open(&self, peer: &Peer) {
        let name = peer.context::<Who>().map_or("?", |w| w.name.as_str());
        self.events.push(format!("open {name}"));
        peer.send(format!("hello {name}"));
    }

    async fn message(&self, peer: &Peer, message: Message) {
        let name = peer.context::<Who>().map_or("?", |w| w.name.as_str()).to_owned();
        self.events.push(format!("message {name} {}", message.text()));
        let text = message.text().into_owned();
        let (command, arg) = text.split_once(' ').unwrap_or((&text, ""));
        if text.starts_with('{') {
            let parsed = message.json::<serde_json::Value>();
            return peer.send(parsed.map_or_else(|e| format!("bad json: {e}"), |v| format!("json {v}")));
        }
        match command {
            "panic" => panic!("probe asked to panic"),
            "sub" => peer.subscribe(arg),
            "unsub" => peer.unsubscribe(arg),
            "topics" => peer.send(peer.topics().join(",")),
            "pub" => {
                let (topic, payload) = arg.split_once(' ').unwrap_or((arg, ""));
                peer.publish(topic, payload);
            }
            "peers" => peer.send(peer.peers().len().to_string()),
            "id" => peer.send(peer.id().to_string()),
            "header" => peer.send(peer.headers().get(arg).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned()),
            "binary" => peer.send(arg.as_bytes().to_vec()),
            "kind" => peer.send(if message.is_binary() { "binary" } else { "text" }),
            "close" => {
                let (code, reason) = arg.split_once(' ').unwrap_or((arg, ""));
                match CloseCode::try_from(code.parse::<u16>().unwrap_or(1000)) {
                    Ok(code) => peer.close(code, reason),
                    Err(refused) => peer.send(refused.to_string()),
                }
            }
            "interleave" => {
                // Topic messages and sends, then a close: they arrive in this order.
                let hub = peer.hub();
                let _ = hub.publish(arg, "1");
                peer.send("2");
                let _ = hub.publish(arg, "3");
                peer.send("4");
                peer.close(CloseCode::NORMAL, "done");
            }
            "terminate" => peer.terminate(),
            "buffered" => peer.send(peer.buffered_amount().to_string()),
            "big" => {
                // One message larger than the whole outbound limit, to an empty queue.
                if let Err(e) = peer.try_send("b".repeat(arg.parse().unwrap_or(0))) {
                    self.events.push(format!("big failed: {e}"));
                }
            }
            "flood" => {
                // Queue more than max_buffered without yielding: a slow consumer by construction.
                let chunk = "x".repeat(64 << 10);
                for _ in 0..1000 {
                    if peer.try_send(chunk.as_str()).is_err() {
                        break;
                    }
                }
            }
            "hold" => {
                // Await until the test says so; what is sent meanwhile must still go out.
                peer.send("holding");
                self.events.wait_for(&format!("release {arg}")).await;
                peer.send("released");
            }
            "slow" => {
                self.events.push(format!("slow start {arg}"));
                tokio::time::sleep(Duration::from_millis(arg.parse().unwrap_or(50))).await;
                self.events.push(format!("slow end {arg}"));
            }
            _ => peer.send(format!("echo {text}")),
        }
    }

    async fn close(&self, peer: &Peer, close: Close) {
        let name = peer.context::<Who>().map_or("?", |w| w.name.as_str());
        self.events.push(format!("close {name} {} {}", close.code, close.reason));
    }

    fn topic(&self, _peer: &Peer, message: TopicMessage<'_>) -> Option<nitrous::Payload> {
        if message.text() == "panic" {
            panic!("probe's topic hook asked to panic");
        }
        Some(message.payload().clone())
    }

    async fn error(&self, peer: &Peer, error: Error) {
        let name = peer.context::<Who>().map_or("?", |w| w.name.as_str());
        self.events.push(format!("error {name} {error}"));
    }
}
