//! The baseline of `cargo xtask bench`: the same protocol as `bench-nitrous`, written by hand with
//! axum. `--tuned` is the ceiling of this stack (4 KiB read buffers, writes batched and flushed once
//! per drained queue, Nagle's algorithm off as nitrous and Bun have it); without it, axum's default
//! WebSocket settings and one flush per message, as most users write it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use nitrous::axum::Router;
use nitrous::axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use nitrous::axum::extract::{Query, State};
use nitrous::axum::response::IntoResponse;
use nitrous::axum::response::sse::{Event, Sse};
use nitrous::axum::routing::get;
use serde::Deserialize;
use tokio::sync::mpsc;

#[derive(Clone)]
struct App {
    tuned: bool,
    subscribers: Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>,
    next_id: Arc<AtomicU64>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let tuned = std::env::args().any(|a| a == "--tuned");
    let app = App {
        tuned,
        subscribers: Arc::default(),
        next_id: Arc::default(),
    };
    let router = Router::new()
        .route("/ws/echo", get(echo))
        .route("/ws/fan", get(fan))
        .route("/api/sse", get(sse))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    if tuned {
        use nitrous::axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        return nitrous::axum::serve(listener, router).await;
    }
    nitrous::axum::serve(listener, router).await
}

fn configure(upgrade: WebSocketUpgrade, tuned: bool) -> WebSocketUpgrade {
    if tuned {
        upgrade.read_buffer_size(4 << 10).write_buffer_size(8 << 10)
    } else {
        upgrade
    }
}

async fn echo(upgrade: WebSocketUpgrade, State(app): State<App>) -> impl IntoResponse {
    configure(upgrade, app.tuned).on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && socket.send(message).await.is_err()
            {
                break;
            }
        }
    })
}

async fn fan(upgrade: WebSocketUpgrade, State(app): State<App>) -> impl IntoResponse {
    let tuned = app.tuned;
    configure(upgrade, tuned).on_upgrade(move |socket: WebSocket| async move {
        let id = app.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let (mut sink, mut stream) = socket.split();
        let writer = tokio::spawn(async move {
            if tuned {
                while let Some(first) = rx.recv().await {
                    let mut next = Some(first);
                    while let Some(message) = next {
                        if sink.feed(message).await.is_err() {
                            return;
                        }
                        next = rx.try_recv().ok();
                    }
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
            } else {
                while let Some(message) = rx.recv().await {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
            }
        });
        let _ = tx.send(Message::text("ready"));
        app.subscribers.lock().unwrap().insert(id, tx);
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Text(_) | Message::Binary(_)) {
                let subscribers = app.subscribers.lock().unwrap();
                for (other, sender) in subscribers.iter() {
                    if *other != id {
                        let _ = sender.send(message.clone());
                    }
                }
            }
        }
        app.subscribers.lock().unwrap().remove(&id);
        writer.abort();
    })
}

#[derive(Deserialize)]
struct Count {
    n: usize,
}

async fn sse(Query(count): Query<Count>) -> impl IntoResponse {
    let payload = "x".repeat(64);
    let events = futures_util::stream::iter(0..count.n)
        .map(move |_| Ok::<_, Infallible>(Event::default().data(payload.clone())));
    Sse::new(events)
}
