//! The channel protocol (`docs/protocol.md`) with raw frames from a real WebSocket client: what a
//! channel route answers to good frames, bad ones, requests, subscriptions, resumes and
//! tracked rooms' joins and leaves. Fixtures:
//! `ws/typed/[room].rs` (a room with requests) and `ws/typed_plain.rs` (no requests).

mod support;

use futures_util::SinkExt;
use nitrous::Hub;
use nitrous_tests::{AppState, router};
use serde_json::{Value, json};
use support::Server;
use support::ws::{Client, json, next};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

/// How many messages a room topic keeps in these tests.
const KEPT: usize = 4;

/// A server whose hub retains every room's last [`KEPT`] messages.
async fn start() -> (Server, Hub) {
    let hub = Hub::new();
    hub.retain("room:*", KEPT);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    (server, hub)
}

/// Connects offering the channel subprotocol, which the server must choose.
async fn connect(server: &Server, path: &str) -> Client {
    let mut request = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("nitrous.v1"),
    );
    let (client, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the channel accepts");
    assert_eq!(response.headers()["sec-websocket-protocol"], "nitrous.v1");
    client
}

async fn send(client: &mut Client, frame: Value) {
    client
        .send(Message::text(frame.to_string()))
        .await
        .expect("send");
}

/// Connects and says hello (resuming `resume`), returning the client after its welcome.
async fn hello(server: &Server, path: &str, resume: Value) -> Client {
    let mut client = connect(server, path).await;
    send(&mut client, json!({ "type": "hello", "resume": resume })).await;
    let welcome = json(&mut client).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["protocol"], 1, "{welcome}");
    client
}

/// Says `text` in the room and returns the topic frame the speaker gets back.
async fn say(client: &mut Client, text: &str) -> Value {
    send(
        client,
        json!({ "type": "message", "data": { "text": text } }),
    )
    .await;
    let heard = json(client).await;
    assert_eq!(heard["type"], "topic", "{heard}");
    assert_eq!(heard["data"]["text"], text, "{heard}");
    heard
}

/// Stops the server once the clients are gone (a client that is not reading cannot finish a
/// closing handshake, and shutdown would wait for it).
async fn stop(server: Server, clients: impl IntoIterator<Item = Client>) {
    clients.into_iter().for_each(drop);
    server.stop().await;
}

/// The next frame, which must be a notice with `code`.
async fn notice(client: &mut Client, code: &str) -> Value {
    let notice = json(client).await;
    assert_eq!(notice["type"], "notice", "{notice}");
    assert_eq!(notice["code"], code, "{notice}");
    notice
}

#[tokio::test]
async fn an_upgrade_without_the_subprotocol_is_refused_with_what_to_do() {
    let (server, _) = start().await;
    let url = format!("ws://{}/ws/typed/lobby", server.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8(response.into_body().unwrap_or_default()).unwrap();
            assert!(body.contains("nitrous.v1"), "{body}");
        }
        other => panic!("expected 400, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_room_hears_each_message_once_in_one_order_with_offsets() {
    let (server, _) = start().await;
    let mut ada = hello(&server, "/ws/typed/lobby", json!({})).await;
    let mut bob = hello(&server, "/ws/typed/lobby", json!({})).await;
    let first = say(&mut ada, "hi").await;
    assert_eq!(json(&mut bob).await, first);
    assert_eq!(first["topic"], "room:lobby");
    assert!(first["offset"].as_str().is_some(), "{first}");
    let second = say(&mut bob, "hello").await;
    assert_eq!(json(&mut ada).await, second);
    assert_ne!(first["offset"], second["offset"]);
    // Another room hears nothing of it.
    let mut eve = hello(&server, "/ws/typed/attic", json!({})).await;
    let own = say(&mut eve, "anyone?").await;
    assert_eq!(own["topic"], "room:attic");
    stop(server, [ada, bob, eve]).await;
}

#[tokio::test]
async fn frames_the_server_cannot_accept_get_notices_and_the_channel_stays() {
    let (server, _) = start().await;
    let mut client = hello(&server, "/ws/typed/lobby", json!({})).await;

    client.send(Message::text("{not json")).await.unwrap();
    let bad = notice(&mut client, "bad-json").await;
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("key must be a string"),
        "{bad}"
    );
    send(&mut client, json!({ "type": "shout", "data": 1 })).await;
    notice(&mut client, "unknown-type").await;
    send(&mut client, json!({ "type": "message" })).await;
    notice(&mut client, "bad-json").await;
    send(
        &mut client,
        json!({ "type": "message", "data": { "txt": "typo" } }),
    )
    .await;
    let bad = notice(&mut client, "bad-data").await;
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("missing field `text`"),
        "serde's own words: {bad}"
    );
    client.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    notice(&mut client, "unsupported").await;
    send(&mut client, json!({ "type": "hello" })).await;
    notice(&mut client, "bad-json").await;

    // Still open, still heard.
    say(&mut client, "still here").await;
    stop(server, [client]).await;
}

#[tokio::test]
async fn an_oversize_frame_closes_with_1009_as_on_any_websocket_route() {
    let (server, _) = start().await;
    let mut client = hello(&server, "/ws/typed/lobby", json!({})).await;
    let text = "x".repeat(70 * 1024);
    send(
        &mut client,
        json!({ "type": "message", "data": { "text": text } }),
    )
    .await;
    match next(&mut client).await {
        Message::Close(Some(close)) => assert_eq!(u16::from(close.code), 1009),
        other => panic!("expected close 1009, got {other:?}"),
    }
    stop(server, [client]).await;
}

#[tokio::test]
async fn requests_get_their_typed_reply_or_error_and_ids_must_increase() {
    let (server, _) = start().await;
    let mut client = hello(&server, "/ws/typed/lobby", json!({})).await;
    send(
        &mut client,
        json!({ "type": "request", "id": 1, "data": { "kind": "echo", "text": "ping" } }),
    )
    .await;
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "reply", "id": 1, "ok": "ping" })
    );
    send(
        &mut client,
        json!({ "type": "request", "id": 2, "data": { "kind": "refuse", "reason": "closed" } }),
    )
    .await;
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "reply", "id": 2, "err": { "reason": "closed" } })
    );
    // A repeated id, and one below the last: not handled.
    for id in [2, 1] {
        send(
            &mut client,
            json!({ "type": "request", "id": id, "data": { "kind": "echo", "text": "again" } }),
        )
        .await;
        assert_eq!(notice(&mut client, "bad-id").await["id"], id);
    }
    // Data that is not the route's request type.
    send(
        &mut client,
        json!({ "type": "request", "id": 3, "data": { "kind": "dance" } }),
    )
    .await;
    let bad = notice(&mut client, "bad-data").await;
    assert_eq!(bad["id"], 3);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `dance`"),
        "{bad}"
    );
    send(&mut client, json!({ "type": "request", "data": 1 })).await;
    notice(&mut client, "bad-json").await;
    stop(server, [client]).await;
}

#[tokio::test]
async fn a_route_without_requests_says_so_and_echoes_as_written() {
    let (server, _) = start().await;
    let mut client = hello(&server, "/ws/typed_plain", json!({})).await;
    send(
        &mut client,
        json!({ "type": "request", "id": 1, "data": "x" }),
    )
    .await;
    assert_eq!(notice(&mut client, "no-requests").await["id"], 1);
    send(&mut client, json!({ "type": "message", "data": "echo me" })).await;
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "message", "data": "echo me" })
    );
    stop(server, [client]).await;
}

#[tokio::test]
async fn a_client_subscribes_itself_only_where_the_route_allows() {
    let (server, hub) = start().await;
    let mut client = hello(&server, "/ws/typed/lobby", json!({})).await;
    send(
        &mut client,
        json!({ "type": "subscribe", "id": 1, "topic": "private:x" }),
    )
    .await;
    assert_eq!(notice(&mut client, "not-allowed").await["id"], 1);
    send(
        &mut client,
        json!({ "type": "subscribe", "id": 2, "topic": "public:news" }),
    )
    .await;
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "reply", "id": 2, "ok": null })
    );
    assert_eq!(hub.subscriber_count("public:news"), 1);
    hub.publish(
        "public:news",
        nitrous::Payload::json(&json!({ "from": "server", "text": "extra" })).unwrap(),
    )
    .unwrap();
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "topic", "topic": "public:news", "data": { "from": "server", "text": "extra" } })
    );
    send(
        &mut client,
        json!({ "type": "unsubscribe", "id": 3, "topic": "public:news" }),
    )
    .await;
    assert_eq!(
        json(&mut client).await,
        json!({ "type": "reply", "id": 3, "ok": null })
    );
    assert_eq!(hub.subscriber_count("public:news"), 0);
    stop(server, [client]).await;
}

#[tokio::test]
async fn a_reconnecting_client_resumes_its_room_by_itself_and_is_told_of_gaps() {
    let (server, _) = start().await;
    let mut speaker = hello(&server, "/ws/typed/lobby", json!({})).await;
    let mut listener = hello(&server, "/ws/typed/lobby", json!({})).await;
    let first = say(&mut speaker, "one").await;
    assert_eq!(json(&mut listener).await, first);
    drop(listener); // gone without a close frame, as a page on a train

    let missed = [
        say(&mut speaker, "two").await,
        say(&mut speaker, "three").await,
    ];
    let mut back = hello(
        &server,
        "/ws/typed/lobby",
        json!({ "room:lobby": first["offset"] }),
    )
    .await;
    for message in &missed {
        assert_eq!(&json(&mut back).await, message, "what it missed, in order");
    }
    let live = say(&mut speaker, "four").await;
    assert_eq!(json(&mut back).await, live, "then live, once");

    // An offset from another history: told of the gap first, then the topic as it is kept.
    let mut foreign = hello(
        &server,
        "/ws/typed/lobby",
        json!({ "room:lobby": "1000-1" }),
    )
    .await;
    let gap = json(&mut foreign).await;
    assert_eq!(gap["type"], "gap", "{gap}");
    assert_eq!(gap["topic"], "room:lobby");
    assert_eq!(gap["after"], "1000-1");
    assert_eq!(gap["resumed_at"], first["offset"], "the oldest kept: {gap}");
    assert_eq!(json(&mut foreign).await, first);
    for _ in &missed {
        json(&mut foreign).await;
    }
    assert_eq!(json(&mut foreign).await, live);
    let own = say(&mut foreign, "after the gap").await;
    assert_eq!(json(&mut speaker).await, own, "and it is heard");

    // Further back than the room keeps: the gap, then the kept ones.
    for text in ["five", "six", "seven"] {
        say(&mut speaker, text).await;
    }
    let mut late = hello(
        &server,
        "/ws/typed/lobby",
        json!({ "room:lobby": first["offset"] }),
    )
    .await;
    let gap = json(&mut late).await;
    assert_eq!(gap["type"], "gap", "{gap}");
    assert_eq!(gap["after"], first["offset"]);
    let mut kept = Vec::new();
    for _ in 0..KEPT {
        kept.push(json(&mut late).await["data"]["text"].clone());
    }
    assert_eq!(kept, ["after the gap", "five", "six", "seven"]);
    stop(server, [speaker, back, foreign, late]).await;
}

/// The next frame, which must be a presence frame for `topic`: its event and member.
async fn presence(client: &mut Client, topic: &str) -> (String, String) {
    let frame = json(client).await;
    assert_eq!(frame["type"], "presence", "{frame}");
    assert_eq!(frame["topic"], topic, "{frame}");
    assert_eq!(
        frame["info"],
        Value::Null,
        "a plain subscribe joins with null: {frame}"
    );
    let event = frame["event"].as_str().unwrap().to_owned();
    (event, frame["member"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_tracked_rooms_joins_and_leaves_are_presence_frames_in_the_rooms_order() {
    let (server, hub) = start().await;
    hub.track_presence("room:*");
    let mut ada = hello(&server, "/ws/typed/p", json!({})).await;
    let (event, ada_id) = presence(&mut ada, "room:p").await;
    assert_eq!(event, "join", "its own join first");
    let mut bob = hello(&server, "/ws/typed/p", json!({})).await;
    let (event, bob_id) = presence(&mut bob, "room:p").await;
    assert_eq!(event, "join");
    assert_ne!(bob_id, ada_id);
    assert_eq!(
        presence(&mut ada, "room:p").await,
        ("join".into(), bob_id.clone())
    );

    // bob's last words come before his leave.
    let said = say(&mut bob, "bye").await;
    drop(bob);
    assert_eq!(json(&mut ada).await, said);
    assert_eq!(presence(&mut ada, "room:p").await, ("leave".into(), bob_id));
    assert_eq!(hub.presence_count("room:p").await.count, 1);
    stop(server, [ada]).await;
}
