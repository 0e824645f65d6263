//! Namespaces (crossws 0.4): `/ws/ns/support` and `/ws/ns/sales` both use a topic named `chat`,
//! each in its own namespace, apart from each other and from the app-wide `chat` (the seed's
//! `/ws/chat`); a server-side publish names the namespace and
//! reaches only it; the same across two instances through a real `redis-server`. Real WebSocket
//! clients against the fixture server in processes of its own.

mod support;

use nitrous_support::RedisServer;
use support::fixture::{fixture_command, fixture_server};
use support::redis::subscribed;
use support::ws::{Client, say, text};

async fn connect(addr: &str, path: &str) -> Client {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .expect("connect")
        .0
}

/// Publishes `body` on `topic` through `addr`'s HTTP route, in `namespace` if given; how many
/// subscribers it reached.
async fn publish(addr: &str, namespace: Option<&str>, topic: &str, body: &str) -> String {
    let query = namespace.map_or_else(String::new, |ns| format!("?namespace={ns}"));
    reqwest::Client::new()
        .post(format!("http://{addr}/api/publish/{topic}{query}"))
        .body(body.to_owned())
        .send()
        .await
        .expect("publish")
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_routes_with_the_same_topic_name_stay_apart() {
    let (_server, addr) = fixture_server(fixture_command());
    let mut support_a = connect(&addr, "/ws/ns/support").await;
    assert_eq!(
        text(&mut support_a).await,
        r#"ready in support on ["chat"]"#
    );
    let mut support_b = connect(&addr, "/ws/ns/support").await;
    assert_eq!(
        text(&mut support_b).await,
        r#"ready in support on ["chat"]"#
    );
    let mut sales = connect(&addr, "/ws/ns/sales").await;
    assert_eq!(text(&mut sales).await, r#"ready in sales on ["chat"]"#);
    let mut app_wide = connect(&addr, "/ws/chat").await;
    assert!(text(&mut app_wide).await.contains("Welcome"));
    say(&mut app_wide, "ping").await; // its `open` hook, which subscribes, is done at the pong
    assert!(text(&mut app_wide).await.contains("pong"));

    // A peer's publish reaches its namespace only.
    say(&mut support_a, "for support").await;
    assert_eq!(text(&mut support_b).await, "for support");

    // A server-side publish names the namespace: sales hears only its own, first.
    assert_eq!(
        publish(&addr, Some("sales"), "chat", "for sales").await,
        "1"
    );
    assert_eq!(
        text(&mut sales).await,
        "for sales",
        "nothing of support's came first"
    );
    // The app-wide topic is the default, and hears neither.
    assert_eq!(publish(&addr, None, "chat", "for the app").await, "1");
    assert_eq!(
        text(&mut app_wide).await,
        "for the app",
        "nothing namespaced came first"
    );
    // And support heard neither of those.
    assert_eq!(
        publish(&addr, Some("support"), "chat", "for support again").await,
        "2"
    );
    assert_eq!(text(&mut support_a).await, "for support again");
    assert_eq!(text(&mut support_b).await, "for support again");
    assert_eq!(
        publish(&addr, Some("nobody"), "chat", "for no one").await,
        "0"
    );
}

#[tokio::test]
async fn a_namespace_spans_instances_through_redis_and_stays_apart_there() {
    let redis = RedisServer::start().expect("redis-server");
    let instance = || {
        let mut command = fixture_command();
        command.env("NITROUS_REDIS_URL", redis.url());
        fixture_server(command)
    };
    let (_one, one) = instance();
    let (_two, two) = instance();
    let mut support_one = connect(&one, "/ws/ns/support").await;
    assert_eq!(
        text(&mut support_one).await,
        r#"ready in support on ["chat"]"#
    );
    let mut support_two = connect(&two, "/ws/ns/support").await;
    assert_eq!(
        text(&mut support_two).await,
        r#"ready in support on ["chat"]"#
    );
    let mut sales_two = connect(&two, "/ws/ns/sales").await;
    assert_eq!(text(&mut sales_two).await, r#"ready in sales on ["chat"]"#);
    subscribed(&redis, "support\u{1f}chat", 2).await;
    subscribed(&redis, "sales\u{1f}chat", 1).await;

    say(&mut support_one, "across").await;
    assert_eq!(text(&mut support_two).await, "across");
    // Published on instance one into sales: it crosses to instance two's sales peer, and the
    // support message never reached it.
    assert_eq!(publish(&one, Some("sales"), "chat", "for sales").await, "0");
    assert_eq!(text(&mut sales_two).await, "for sales");
}
