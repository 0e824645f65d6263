//! A stream whose text mentions `compile_error`: the attribute must still wrap it (it once
//! searched its own output for that word to decide whether it had reported an error).

use nitrous::sse::EventStream;

/// Not a compile_error! in sight, only the word.
#[nitrous::sse]
pub async fn mentions() -> EventStream {
    let stream = EventStream::new();
    // Room for one event is always there before the response starts.
    let _ = stream.push("compile_error is only a word here").await;
    stream
}
