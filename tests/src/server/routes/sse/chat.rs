//! The chat topic as an event stream: what WebSocket peers and the server publish on `chat`.

use nitrous::Hub;
use nitrous::sse::EventStream;

#[nitrous::sse]
pub async fn chat(hub: Hub) -> EventStream {
    let stream = EventStream::new();
    stream.subscribe(&hub, "chat");
    stream
}
