//! Bench: `?n=` events of 64 bytes as fast as the client reads them, then the end.

use nitrous::axum::extract::Query;
use nitrous::sse::EventStream;
use serde::Deserialize;

/// The query: how many events.
#[derive(Debug, Deserialize)]
pub struct Count {
    /// How many events to send.
    pub n: usize,
}

/// The events, then the end.
#[nitrous::sse]
pub async fn events(Query(count): Query<Count>) -> EventStream {
    let stream = EventStream::new().keep_alive(None);
    let tx = stream.clone();
    tokio::spawn(async move {
        let payload = "x".repeat(64);
        for _ in 0..count.n {
            if tx.push(payload.as_str()).await.is_err() {
                return;
            }
        }
        tx.close();
    });
    stream
}
