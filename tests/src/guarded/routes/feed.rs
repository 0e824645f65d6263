//! `GET /api/feed`: an event stream for the user the auth middleware attached.

use nitrous::axum::Extension;
use nitrous::sse::EventStream;

use crate::guarded::User;

#[nitrous::sse]
pub async fn feed(Extension(user): Extension<User>) -> EventStream {
    let stream = EventStream::new();
    let tx = stream.clone();
    tokio::spawn(async move {
        let _ = tx.push(format!("for {}", user.name)).await;
    });
    stream
}
