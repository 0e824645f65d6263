//! Any `Stream` of events works as the return value.

use nitrous::sse::Event;

#[nitrous::sse]
pub async fn counted() -> impl futures_util::Stream<Item = Event> + Send + 'static {
    futures_util::stream::iter((1..=3).map(|n| Event::data(n.to_string()).id(n.to_string())))
}
