//! One subscriber in many topics, the hub alone: an event stream subscribes to `topic0`,
//! `topic1`, ... (timed a tenth at a time); then, a tenth of the topics at a time, each of them
//! gets one publish and the stream's response body takes what they delivered (timed apart); then
//! the stream closes. `EventStream` has no per-topic unsubscribe in the public API: `close()`
//! leaves all its topics at once, and that is what is timed (a WebSocket peer can unsubscribe
//! one topic at a time; `bench-load rooms` times that over a socket).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nitrous::Hub;
use nitrous::axum::response::IntoResponse;
use nitrous::sse::EventStream;

use crate::pass::{Budget, Pass};

/// What one stream in `topics` topics did.
#[derive(Debug)]
pub(crate) struct TopicsRun {
    pub(crate) topics: usize,
    /// Subscribing: the count is the number of topics the stream is in.
    pub(crate) subscribe: Pass,
    /// Publishing once to each topic: the count is the number of topics published to.
    pub(crate) publish: Pass,
    /// Reading the events from the response body, a tenth at a time (after each tenth's
    /// publishes), with the stream in every topic: the count is events read.
    pub(crate) read: Pass,
    /// `close()`, which leaves every topic, and how many topics the hub had left after it.
    pub(crate) close: Duration,
    pub(crate) topics_after: usize,
}

pub(crate) fn run(topics: usize, limit: Duration) -> Result<TopicsRun, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let hub = Hub::new();
    // Its queue holds a tenth's events between reads (the default, 256, would close it as too
    // slow a reader); no keep-alive, whose timer has nothing to do with this.
    let stream = EventStream::new()
        .max_buffered_events(topics)
        .keep_alive(None);
    let name = |i: usize| format!("topic{i}");

    eprintln!("bench-hub: one stream in {topics} topics: subscribe");
    let mut subscribe = Pass::new(topics);
    let budget = Budget::starting_now(limit);
    subscribe.reached(0, Duration::ZERO);
    for i in 0..topics {
        if budget.spent() {
            subscribe.cut = true;
            break;
        }
        stream.subscribe(&hub, &name(i));
        subscribe.moved = i + 1;
        if subscribe.is_mark(i + 1) {
            subscribe.reached(i + 1, budget.elapsed());
        }
    }
    subscribe.elapsed = budget.elapsed();
    let subscribed = subscribe.moved;
    if hub.topic_count() != subscribed {
        return Err(format!(
            "the stream subscribed to {subscribed} topics, the hub has {}",
            hub.topic_count()
        ));
    }

    eprintln!("bench-hub: one stream in {topics} topics: publish to each and read");
    let mut body = stream
        .clone()
        .into_response()
        .into_body()
        .into_data_stream();
    let mut publish = Pass::new(topics);
    let mut read = Pass::new(topics);
    publish.reached(0, Duration::ZERO);
    read.reached(0, Duration::ZERO);
    let budget = Budget::starting_now(limit);
    let tenth = (subscribed / 10).max(1);
    for from in (0..subscribed).step_by(tenth) {
        if budget.spent() {
            publish.cut = true;
            read.cut = true;
            break;
        }
        let to = (from + tenth).min(subscribed);
        let start = Instant::now();
        for i in from..to {
            let reached = hub
                .publish(&name(i), "x")
                .map_err(|e| format!("cannot publish: {e}"))?;
            if reached != 1 {
                return Err(format!("a publish to {} reached {reached}", name(i)));
            }
        }
        publish.elapsed += start.elapsed();
        publish.moved = to;
        publish.reached(to, publish.elapsed);

        let start = Instant::now();
        let mut events = 0;
        while events < to - from {
            let chunk = runtime
                .block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), body.next()).await
                })
                .map_err(|_| "the event stream's body gave nothing for 10 s".to_owned())?
                .ok_or("the event stream's body ended")?
                .map_err(|e| format!("the event stream's body failed: {e}"))?;
            events += count_events(&chunk);
        }
        if events != to - from {
            return Err(format!("read {events} events for {} publishes", to - from));
        }
        read.elapsed += start.elapsed();
        read.moved = to;
        read.reached(to, read.elapsed);
    }

    eprintln!("bench-hub: one stream in {topics} topics: close");
    let start = Instant::now();
    stream.close();
    let close = start.elapsed();
    drop(body);
    Ok(TopicsRun {
        topics,
        subscribe,
        publish,
        read,
        close,
        topics_after: hub.topic_count(),
    })
}

/// How many events a chunk of the body holds: each ends with an empty line.
fn count_events(chunk: &[u8]) -> usize {
    chunk.windows(2).filter(|w| w == b"\n\n").count()
}
