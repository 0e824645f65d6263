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

#[tokio::test(start_paused = true)]
async fn the_servers_own_log_lines_are_in_the_span_it_is_awaited_in() {
    use std::future::IntoFuture;
    use tokio::io::AsyncWriteExt;
    use tracing::Instrument;

    let captured = Captured::default();
    let _guard = captured.install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = nitrous::serve(listener, router().with_state(AppState::default()))
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        });
    // As an app writes it: the server awaited inside the app's own span.
    let server = tokio::spawn(
        async move { served.into_future().await }
            .instrument(tracing::info_span!("app", instance = 7)),
    );
    // A request that never ends holds its connection past the grace period. A second
    // connection, served, says the server has accepted the first (accepts come in order).
    let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"GET /api/hello HTTP/1.1\r\n")
        .await
        .unwrap();
    let (_served, head) = support::raw::exchange(
        &addr.to_string(),
        b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(head.status, 200);
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    let log = captured.text();
    let warning = log
        .lines()
        .find(|l| l.contains("connections still open after the shutdown grace period"))
        .unwrap_or_else(|| panic!("no grace-period warning in:\n{log}"));
    assert!(warning.contains("app{instance=7}"), "{warning}");
    assert!(
        warning.contains("left=1"),
        "one connection is left: {warning}"
    );
    drop(partial);
}
