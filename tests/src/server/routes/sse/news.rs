//! Topic-backed: every publish on `news` reaches this client; a reconnecting client resumes from
//! its `Last-Event-ID` (when the hub retains the topic).

use nitrous::Hub;
use nitrous::sse::{EventStream, LastEventId};

#[nitrous::sse]
pub async fn news(hub: Hub, LastEventId(last): LastEventId) -> EventStream {
    let stream = EventStream::new();
    stream.subscribe_from(&hub, "news", last.as_deref());
    stream
}
