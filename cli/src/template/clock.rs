//! `GET /api/clock`: an event stream with a tick every second until the client goes away.

use nitrous::sse::EventStream;

#[nitrous::sse]
pub async fn clock() -> EventStream {
    let stream = EventStream::new();
    let tx = stream.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        for n in 1u64.. {
            tick.tick().await;
            if tx.push(format!("tick {n}")).await.is_err() {
                break; // the client went away
            }
        }
    });
    stream
}
