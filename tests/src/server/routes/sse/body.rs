//! An event stream whose function reads the request body (the last extractor may).

use nitrous::sse::EventStream;

#[nitrous::sse]
pub async fn body(body: String) -> EventStream {
    let stream = EventStream::new();
    let tx = stream.clone();
    tokio::spawn(async move {
        let _ = tx.push(format!("you sent {body}")).await;
        tx.close();
    });
    stream
}
