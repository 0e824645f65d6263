//! One of every kind of event, then the end of the stream.

use std::time::Duration;

use nitrous::sse::{Event, EventStream};

#[nitrous::sse]
pub async fn kinds() -> EventStream {
    let stream = EventStream::new();
    let tx = stream.clone();
    tokio::spawn(async move {
        let _ = tx.push("first line\nsecond line\r\nthird line").await;
        let _ = tx.comment("a comment").await;
        let _ = tx.push(Event::data("named").id("7").event("update").retry(Duration::from_millis(2500))).await;
        let _ = tx.push_json(&serde_json::json!({ "n": 1, "s": "x" })).await;
        let _ = tx.push(Event::data("injected").event("a\nevent: b")).await;
        tx.close();
        let after = tx.push("too late").await;
        let _ = tx.push(format!("after close: {after:?}")).await;
    });
    stream
}
