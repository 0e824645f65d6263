//! A stream that never pushes: only the client leaving ends it.

use nitrous::axum::extract::State;
use nitrous::sse::EventStream;

use crate::AppState;

#[nitrous::sse]
pub async fn idle(State(state): State<AppState>) -> EventStream {
    let stream = EventStream::new();
    let events = state.events.clone();
    stream.on_closed(move || events.push("idle closed".to_owned()));
    let closed = stream.clone();
    let events = state.events.clone();
    tokio::spawn(async move {
        closed.closed().await;
        events.push("idle closed() resolved".to_owned());
    });
    stream
}
