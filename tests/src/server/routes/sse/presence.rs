//! An event stream that joins `room:{room}` (`/api/sse/presence?room=..&name=..`): it is a member
//! while it is open, and gets the room's joins and leaves as `event: nitrous-presence`.

use nitrous::Hub;
use nitrous::axum::extract::Query;
use nitrous::sse::EventStream;
use serde_json::json;

#[derive(serde::Deserialize)]
pub struct Join {
    room: String,
    name: String,
}

#[nitrous::sse]
pub async fn presence(hub: Hub, Query(join): Query<Join>) -> EventStream {
    let stream = EventStream::new();
    let topic = format!("room:{}", join.room);
    if let Err(e) = stream.join(&hub, &topic, &json!({ "name": join.name })) {
        let _ = stream.push(format!("refused: {e}")).await;
        stream.close();
    }
    stream
}
