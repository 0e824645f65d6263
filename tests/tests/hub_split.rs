//! A hub the app made and used but never installed, while the routes answer from the router's own
//! hub, is reported: every publish on it reaches no client, and nothing else would say so. In a
//! test binary of its own, because whether a router's own hub has served is process-wide.

mod support;

use nitrous::Hub;
use nitrous_tests::{AppState, router};
use support::Server;
use support::log::Captured;
use support::ws::{Client, say, text};

const REPORT: &str = "the app uses a hub that no router serves";

/// A probe peer subscribed to `topic` (its `topics` answer comes after the subscription).
async fn subscriber(server: &Server, topic: &str) -> Client {
    let url = format!("ws://{}/ws/probe?name=reader", server.addr);
    let (mut client, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    assert_eq!(text(&mut client).await, "hello reader");
    say(&mut client, &format!("sub {topic}")).await;
    say(&mut client, "topics").await;
    assert_eq!(text(&mut client).await, topic);
    client
}

fn reports(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(REPORT)).collect()
}

#[tokio::test]
async fn a_hub_no_router_serves_is_reported_whichever_comes_first() {
    let captured = Captured::default();
    let _guard = captured.install();

    // The mistake as a new user makes it: a hub retained and published on, never installed.
    let forgotten = Hub::new();
    forgotten.retain("votes", 10);
    forgotten.publish("votes", "tally 1").unwrap();
    assert_eq!(
        reports(&captured.text()),
        Vec::<&str>::new(),
        "no router serves yet"
    );

    // The routes answer from the router's own hub: a subscriber there never hears the forgotten
    // one, and the first request reports it.
    let server = Server::start(router().with_state(AppState::default())).await;
    let mut reader = subscriber(&server, "votes").await;
    assert_eq!(forgotten.publish("votes", "tally 2").unwrap(), 0);
    let log = captured.text();
    let [report] = reports(&log)[..] else {
        panic!("one report expected in:\n{log}")
    };
    assert!(report.contains("topic=\"votes\""), "{report}");
    assert!(report.contains("router().layer(hub.layer())"), "{report}");

    // A hub installed as the README says is the routes' hub, and never reported.
    let installed = Hub::new();
    installed.retain("tallies", 10);
    let served = Server::start(
        router()
            .layer(installed.layer())
            .with_state(AppState::default()),
    )
    .await;
    let mut listener = subscriber(&served, "tallies").await;
    assert_eq!(installed.publish("tallies", "tally 3").unwrap(), 1);
    assert_eq!(text(&mut listener).await, "tally 3");

    // A hub first used after a router's own hub served is reported at that first use.
    let late = Hub::new();
    late.publish("late", "nobody hears this").unwrap();
    let log = captured.text();
    let reported = reports(&log);
    assert_eq!(reported.len(), 2, "{log}");
    assert!(reported[1].contains("topic=\"late\""), "{}", reported[1]);

    drop((reader.close(None).await, listener.close(None).await));
    server.stop().await;
    served.stop().await;
}
