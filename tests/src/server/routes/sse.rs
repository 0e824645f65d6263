//! The seed's clock (Analog's `src/server/routes/sse.ts`), in Rust: `GET /api/sse`. Instrumented
//! for the tests: `?every_ms=` sets the tick, and the state's event log records the close.

use std::time::Duration;

use nitrous::axum::extract::{Query, State};
use nitrous::sse::EventStream;
use serde::Deserialize;

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct Tick {
    pub every_ms: Option<u64>,
}

#[nitrous::sse]
pub async fn clock(State(state): State<AppState>, Query(tick): Query<Tick>) -> EventStream {
    let stream = EventStream::new();
    let events = state.events.clone();
    stream.on_closed(move || events.push("clock closed".to_owned()));
    let tx = stream.clone();
    let events = state.events.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(tick.every_ms.unwrap_or(1000)));
        loop {
            interval.tick().await;
            if tx.push(format!("Message @ {}", crate::now_hms())).await.is_err() {
                break; // the client went away: on_closed has run, stop the timer
            }
        }
        events.push("clock task ended".to_owned());
    });
    stream
}
