//! A real event-stream client's side: the events of a response, and the next one.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};

pub(crate) type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// The events of `response`, an event stream's (status 200), each well formed.
pub(crate) fn events(response: reqwest::Response) -> Events {
    assert_eq!(response.status(), 200, "an event stream");
    Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|event| event.expect("a well-formed event")),
    )
}

/// The next event (comments, such as keep-alives, are not events), within 10 s.
pub(crate) async fn next_event(events: &mut Events) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
}
