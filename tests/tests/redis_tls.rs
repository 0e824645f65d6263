//! `rediss://`: two nitrous processes share a topic through a `redis-server` that speaks only TLS,
//! its certificate signed by a CA the test makes (`openssl`), which the instances are told to
//! trust (`RedisConfig::tls_root_certificate`). An instance that does not trust it shares
//! nothing, and still serves its own subscribers.
//!
//! Needs `redis-server` built with TLS (Debian's is) and `openssl` on the PATH (`cargo xtask ci`
//! installs both).

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::SinkExt;
use nitrous_support::{Process, RedisServer};
use support::certs::certificates;
use support::fixture::{fixture_command, fixture_server};
use support::ws::{next, text};
use tokio_tungstenite::tungstenite::Message;

fn instance(redis: &RedisServer, ca: Option<&Path>) -> (Process, String) {
    let mut command = fixture_command();
    command.env("NITROUS_REDIS_URL", redis.url());
    if let Some(ca) = ca {
        command.env("NITROUS_REDIS_CA", ca);
    }
    fixture_server(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_a_topic_through_redis_over_tls() {
    let dir = std::env::temp_dir().join(format!("nitrous-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir, "redis");
    let ca = dir.join("ca.crt");
    let redis = RedisServer::start_tls(&dir.join("redis.crt"), &dir.join("redis.key"), &ca)
        .expect("redis-server with TLS");
    let (_one, one) = instance(&redis, Some(&ca));
    let (_two, two) = instance(&redis, Some(&ca));
    let connect = |addr: String| async move {
        let mut client = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/relay"))
            .await
            .expect("connect")
            .0;
        assert_eq!(text(&mut client).await, "ready");
        client
    };
    let (mut a, mut b) = (connect(one).await, connect(two.clone()).await);
    // Until b's instance has subscribed through Redis, a's messages reach nobody there.
    let mut crossed = false;
    for n in 0..100 {
        a.send(Message::text(format!("over tls {n}")))
            .await
            .unwrap();
        if let Ok(message) = tokio::time::timeout(Duration::from_millis(100), next(&mut b)).await {
            assert!(
                matches!(&message, Message::Text(t) if t.starts_with("over tls")),
                "{message:?}"
            );
            crossed = true;
            break;
        }
    }
    assert!(
        crossed,
        "a message crossed between the instances through TLS"
    );

    // Without the CA, the server's certificate is not trusted: nothing crosses, and the
    // instance still serves its own subscribers.
    let (_three, three) = instance(&redis, None);
    let mut c = connect(three.clone()).await;
    let mut d = connect(three).await;
    c.send(Message::text("local")).await.unwrap();
    assert_eq!(text(&mut d).await, "local", "local delivery goes on");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), next(&mut b))
            .await
            .is_err(),
        "nothing crosses from an instance that does not trust the server"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
