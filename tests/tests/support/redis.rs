//! What the tests that share topics through a real `redis-server` ask Redis itself.

use std::time::Duration;

use nitrous_support::RedisServer;

/// Waits until `count` instances subscribe to `topic`'s channel in Redis: an instance subscribes
/// when its first local subscriber arrives, asynchronously, so a publish right after could miss.
pub(crate) async fn subscribed(redis: &RedisServer, topic: &str, count: i64) {
    let client = redis::Client::open(redis.url()).unwrap();
    let channel = format!("nitrous:{topic}");
    let check = async {
        loop {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                let numsub: Result<(String, i64), _> = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async(&mut connection)
                    .await;
                if numsub.is_ok_and(|(_, n)| n == count) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await; // polling Redis, a bounded wait
        }
    };
    tokio::time::timeout(Duration::from_secs(20), check)
        .await
        .unwrap_or_else(|_| panic!("{count} instances never subscribed to {channel}"));
}
