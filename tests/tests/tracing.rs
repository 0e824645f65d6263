//! Every WebSocket connection runs in a `tracing` span (route, peer id, remote address), with
//! `open` and `close` events carrying the close code and reason, so a user's subscriber shows them.

mod support;

use futures_util::{SinkExt, StreamExt};
use nitrous_tests::{AppState, router};
use support::Server;
use support::log::Captured;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_connection_span_wraps_open_and_close_events() {
    let captured = Captured::default();
    let _guard = captured.install();

    let state = AppState::default();
    let events = state.events.clone();
    let server = Server::start(router().with_state(state)).await;
    let (mut client, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/probe?name=traced", server.addr))
            .await
            .unwrap();
    let hello = client.next().await.unwrap().unwrap();
    assert_eq!(hello, Message::text("hello traced"));
    client.send(Message::text("close 4000 bye")).await.unwrap();
    while let Some(Ok(_)) = client.next().await {}
    events.wait_for("close traced").await;
    server.stop().await;

    let log = captured.text();
    let open = log
        .lines()
        .find(|l| l.ends_with(" open"))
        .unwrap_or_else(|| panic!("no open event in:\n{log}"));
    assert!(
        open.contains("websocket{route=/ws/probe peer=peer-"),
        "{open}"
    );
    assert!(open.contains("remote=Some(127.0.0.1:"), "{open}");
    let close = log
        .lines()
        .find(|l| l.contains(" close "))
        .unwrap_or_else(|| panic!("no close event in:\n{log}"));
    assert!(
        close.contains("websocket{route=/ws/probe peer=peer-"),
        "{close}"
    );
    assert!(close.contains("code=4000 reason=bye"), "{close}");
}
