//! `nitrous::telemetry`'s Redis metrics, through a recording exporter (installed for this test
//! binary alone) and a real `redis-server`: how far behind Redis the instance is (the queue's
//! bytes, and publishes refused when it is full) while Redis is frozen, and a reconnect after it
//! crashed and came back.

use std::sync::Arc;
use std::time::Duration;

use nitrous::Hub;
use nitrous::broker::redis::{RedisBroker, RedisConfig};
use nitrous_support::RedisServer;
use nitrous_tests::recording::{Installed, Recording};

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_for_redis_and_its_reconnects_are_counted() {
    let recording = Arc::new(Recording::default());
    metrics::set_global_recorder(Installed(recording.clone())).expect("the only recorder");
    let queued = || recording.gauge("nitrous_redis_queue_bytes{}");
    let refused = || recording.counter("nitrous_redis_refused_total{}");
    let reconnects = || recording.counter("nitrous_redis_reconnects_total{}");

    let mut redis = RedisServer::start().expect("redis-server");
    let config = RedisConfig::new(redis.url()).queue_limit(64 << 10);
    let hub = Hub::with_broker(RedisBroker::new(config));
    for n in 0..10 {
        hub.publish("room", format!("m{n}")).unwrap();
    }
    let wait = Duration::from_secs(10);
    support::wait::until("the first publishes going out", wait, || queued() == 0.0).await;
    assert_eq!(recording.counter("nitrous_publishes_total{}"), 10);
    assert_eq!(refused(), 0);

    // Redis frozen: what is published waits for it, until the queue's limit refuses the rest.
    redis.pause().unwrap();
    let payload = "x".repeat(1024);
    let mut published = 0;
    while refused() == 0 && published < 100_000 {
        hub.publish("room", payload.as_str()).unwrap();
        published += 1;
    }
    assert!(
        refused() > 0,
        "{published} publishes of 1 KiB and none refused"
    );
    assert!(queued() > 0.0, "nothing waits for a frozen Redis");
    assert!(
        queued() <= f64::from(64 << 10) * 1.1,
        "{} bytes queued",
        queued()
    );
    redis.resume().unwrap();
    support::wait::until("the queue draining", wait, || queued() == 0.0).await;
    assert_eq!(
        reconnects(),
        0,
        "a freeze this short is not a lost connection"
    );

    // Redis crashed and back: one reconnect (the backoff reaches 5 s at most).
    redis.restart().expect("redis-server again");
    support::wait::until("the reconnect", Duration::from_secs(30), || {
        reconnects() == 1
    })
    .await;
    hub.publish("room", "after").unwrap();
    support::wait::until("the queue after the reconnect", wait, || queued() == 0.0).await;
}
