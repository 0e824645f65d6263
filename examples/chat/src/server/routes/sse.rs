//! The seed's clock (Analog's `src/server/routes/sse.ts`), in Rust: `GET /api/sse`.

use nitrous::sse::EventStream;

/// A tick every second until the client goes away.
#[nitrous::sse(data = String)]
pub async fn clock() -> EventStream {
    let stream = EventStream::new();
    let tx = stream.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if tx.push(format!("Message @ {}", crate::now_hms())).await.is_err() {
                break; // client went away: on_closed has run, stop the timer
            }
        }
    });
    stream
}
