//! The event stream as a client sees it, through its response body.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use http_body_util::BodyExt;

use super::*;
use crate::Hub;

async fn frame(body: &mut Body) -> String {
    let frame = body.frame().await.expect("a frame").expect("no error");
    String::from_utf8(frame.into_data().expect("data").to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_come_on_the_interval_only_when_idle() {
    let stream = EventStream::new().keep_alive(Some(Duration::from_secs(10)));
    let tx = stream.clone();
    let mut body = stream.into_response().into_body();
    let start = tokio::time::Instant::now();
    assert_eq!(frame(&mut body).await, ":\n\n");
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(4)).await;
    tx.push("x").await.unwrap();
    assert_eq!(frame(&mut body).await, "data: x\n\n");
    let pushed = tokio::time::Instant::now();
    assert_eq!(frame(&mut body).await, ":\n\n");
    assert_eq!(
        pushed.elapsed(),
        Duration::from_secs(10),
        "an event resets the keep-alive clock"
    );
}

#[tokio::test(start_paused = true)]
async fn the_default_keep_alive_is_documented() {
    let mut body = EventStream::new().into_response().into_body();
    let start = tokio::time::Instant::now();
    assert_eq!(frame(&mut body).await, ":\n\n");
    assert_eq!(start.elapsed(), DEFAULT_KEEP_ALIVE);
}

#[tokio::test]
async fn pushing_after_close_is_an_error_not_a_panic_or_a_hang() {
    let stream = EventStream::new();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    stream.on_closed(move || flag.store(true, Ordering::SeqCst));
    stream.close();
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(stream.push("late").await, Err(StreamClosed));
    stream.closed().await; // resolves at once
    let late = Arc::new(AtomicBool::new(false));
    let flag = late.clone();
    stream.on_closed(move || flag.store(true, Ordering::SeqCst));
    assert!(late.load(Ordering::SeqCst), "a late on_closed runs at once");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_body_closes_the_stream_and_wakes_a_waiting_push() {
    let stream = EventStream::new().keep_alive(None);
    let body = stream.clone().into_response().into_body();
    for _ in 0..BUFFERED_EVENTS {
        stream.push("fill").await.unwrap();
    }
    let blocked = tokio::spawn({
        let stream = stream.clone();
        async move { stream.push("one too many").await }
    });
    // Let the push run until it waits for room: the drop must wake it, not find it unstarted.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !blocked.is_finished(),
        "the push waits while the queue is full"
    );
    drop(body);
    // Paused time: if the drop wakes nobody, the runtime idles and this times out at once.
    let pushed = tokio::time::timeout(Duration::from_secs(60), blocked)
        .await
        .expect("the drop woke the waiting push");
    assert_eq!(pushed.unwrap(), Err(StreamClosed));
    assert!(stream.is_closed());
}

#[tokio::test(start_paused = true)]
async fn one_event_fits_an_empty_queue_and_the_bytes_bound_the_rest() {
    let stream = EventStream::new().keep_alive(None).max_buffered_bytes(100);
    let mut body = stream.clone().into_response().into_body();
    let big = "b".repeat(1000);
    stream
        .push(big.as_str())
        .await
        .expect("fits an empty queue");
    let waiting = tokio::spawn({
        let stream = stream.clone();
        async move { stream.push("next").await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "a full queue makes push wait");
    assert_eq!(frame(&mut body).await, format!("data: {big}\n\n"));
    waiting.await.unwrap().expect("room again once taken");
    assert_eq!(frame(&mut body).await, "data: next\n\n");
}

#[tokio::test]
async fn a_topic_delivery_to_a_full_stream_closes_it() {
    let hub = Hub::new();
    let stream = EventStream::new().keep_alive(None).max_buffered_events(2);
    let _body = stream.clone().into_response().into_body();
    stream.subscribe(&hub, "t");
    assert_eq!(hub.publish("t", "1").unwrap(), 1);
    assert_eq!(hub.publish("t", "2").unwrap(), 1);
    assert!(!stream.is_closed());
    assert_eq!(
        hub.publish("t", "3").unwrap(),
        0,
        "refused: nothing is skipped silently"
    );
    assert!(stream.is_closed());
    assert_eq!(hub.subscriber_count("t"), 0);
}

#[test]
fn a_stream_closed_while_it_subscribes_is_left_in_no_topic() {
    // `close` from one thread while another subscribes: whichever comes first, the hub keeps
    // no subscriber of a closed stream (a subscriber left behind would be kept, in Redis too,
    // until the process ends).
    let hub = Hub::new();
    for round in 0..2_000 {
        let stream = EventStream::new();
        let start = Arc::new(std::sync::Barrier::new(2));
        let closer = {
            let (stream, start) = (stream.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                stream.close();
            })
        };
        start.wait();
        stream.subscribe(&hub, "t");
        closer.join().unwrap();
        assert_eq!(hub.subscriber_count("t"), 0, "round {round}");
    }
    assert!(hub.topics().is_empty());
}

#[test]
fn event_encoding() {
    assert_eq!(&Event::data("a\nb").encode()[..], b"data: a\ndata: b\n\n");
    assert_eq!(&Event::data("").encode()[..], b"data: \n\n");
    assert_eq!(
        &Event::comment("hi\nthere").encode()[..],
        b": hi\n: there\n\n"
    );
    let full = Event::data("d")
        .id("1")
        .event("e")
        .retry(Duration::from_secs(3));
    assert_eq!(
        &full.encode()[..],
        b"id: 1\nevent: e\nretry: 3000\ndata: d\n\n"
    );
    assert_eq!(
        &Event::json(&[1, 2]).unwrap().encode()[..],
        b"data: [1,2]\n\n"
    );
}
