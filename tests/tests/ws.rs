//! WebSocket routes driven by real `tokio-tungstenite` clients over real sockets: the seed's chat,
//! every hook and `Peer` method, limits, faults, the origin check and shutdown.

mod support;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use nitrous::Hub;
use nitrous_tests::{AppState, Events, router};
use serde_json::{Value, json};
use support::Server;
use support::ws::{Client, WAIT, json, next, say, text};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::tungstenite::{self, Message};

async fn start() -> (Server, Arc<Events>) {
    let state = AppState::default();
    let events = state.events.clone();
    (Server::start(router().with_state(state)).await, events)
}

fn ws_url(server: &Server, path: &str) -> String {
    format!("ws://{}{path}", server.addr)
}

async fn connect(server: &Server, path: &str) -> Client {
    let (client, _) = tokio_tungstenite::connect_async(ws_url(server, path))
        .await
        .expect("connect");
    client
}

/// Reads until the server's close frame and returns its code and reason.
async fn closed(client: &mut Client) -> (u16, String) {
    loop {
        match next(client).await {
            Message::Close(Some(frame)) => return (frame.code.into(), frame.reason.to_string()),
            Message::Close(None) => return (1005, String::new()),
            _ => continue,
        }
    }
}

/// Keeps reading `client` on a task of its own (so its client library answers pings), handing
/// text messages to the returned channel.
fn keep_reading(
    client: Client,
) -> (
    futures_util::stream::SplitSink<Client, Message>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (to_test, from_client) = tokio::sync::mpsc::unbounded_channel();
    let (sink, mut stream) = client.split();
    tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Text(text) = message {
                let _ = to_test.send(text.to_string());
            }
        }
    });
    (sink, from_client)
}

async fn received(from: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, from.recv())
        .await
        .expect("a message within 5 s")
        .expect("still connected")
}

fn chat(user: &str, message: &str) -> Value {
    json!({ "user": user, "message": message })
}

/// The peer name in a chat welcome: `Welcome peer-7!` -> `peer-7`.
fn welcomed(welcome: &Value) -> String {
    let message = welcome["message"].as_str().expect("a message");
    message
        .strip_prefix("Welcome ")
        .and_then(|m| m.strip_suffix('!'))
        .expect("a welcome")
        .to_owned()
}

/// Waits until the peer's `open` hook has finished: hooks run in order, so the pong to a ping
/// proves it (the peer is subscribed by then).
async fn settled(client: &mut Client) {
    say(client, "ping").await;
    assert_eq!(json(client).await, chat("server", "pong"));
}

#[tokio::test]
async fn the_seed_chat_conversation_message_by_message() {
    let (server, _) = start().await;
    let mut a = connect(&server, "/ws/chat").await;
    let a_name = welcomed(&json(&mut a).await);
    settled(&mut a).await;

    let mut b = connect(&server, "/ws/chat").await;
    let b_name = welcomed(&json(&mut b).await);
    settled(&mut b).await;
    assert_ne!(a_name, b_name, "ids are unique");
    assert_eq!(
        json(&mut a).await,
        chat("server", &format!("{b_name} joined!"))
    );

    let mut c = connect(&server, "/ws/chat").await;
    let c_name = welcomed(&json(&mut c).await);
    settled(&mut c).await;
    assert_eq!(
        json(&mut a).await,
        chat("server", &format!("{c_name} joined!"))
    );
    // b's next message is c's arrival, not its own: the joiner is not told of itself.
    assert_eq!(
        json(&mut b).await,
        chat("server", &format!("{c_name} joined!"))
    );

    say(&mut a, "hello").await;
    let hello = chat(&a_name, "hello");
    assert_eq!(json(&mut a).await, hello, "echo to the sender");
    assert_eq!(json(&mut b).await, hello);
    assert_eq!(json(&mut c).await, hello);

    // ping is answered to the sender alone: the others' next message is c's, not a pong.
    say(&mut b, "is anyone there? ping").await;
    assert_eq!(json(&mut b).await, chat("server", "pong"));
    say(&mut c, "after").await;
    let after = chat(&c_name, "after");
    assert_eq!(json(&mut c).await, after);
    assert_eq!(json(&mut a).await, after);
    assert_eq!(json(&mut b).await, after);

    c.close(None).await.expect("close");
    assert_eq!(
        json(&mut a).await,
        chat("server", &format!("{c_name} left!"))
    );
    assert_eq!(
        json(&mut b).await,
        chat("server", &format!("{c_name} left!"))
    );
    drop((a, b)); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn upgrade_can_refuse_with_any_response() {
    let (server, events) = start().await;
    assert_eq!(
        refused(&server, "/ws/probe", None).await,
        (401, "who are you? add ?name=".to_owned())
    );
    assert!(
        events.all().iter().all(|e| !e.starts_with("open")),
        "no session: {:?}",
        events.all()
    );
    server.stop().await;
}

/// The refusal an upgrade gets: status and body.
async fn refused(server: &Server, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = ws_url(server, path).into_client_request().unwrap();
    if let Some(user) = bearer {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {user}")).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            (response.status().as_u16(), body)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn upgrade_runs_extractors_reads_the_query_and_refuses_with_their_rejections() {
    let state = AppState {
        greeting: "welcome to the guarded room",
        ..AppState::default()
    };
    let server = Server::start(router().with_state(state)).await;
    // An extractor of the app's own, refusing with `(StatusCode, &str)`.
    assert_eq!(
        refused(&server, "/ws/guarded?room=lobby", None).await,
        (401, "missing bearer token".to_owned())
    );
    // The query, deserialized; axum's rejection answers.
    let (status, body) = refused(&server, "/ws/guarded", Some("alice")).await;
    assert_eq!(status, 400);
    assert!(body.contains("missing field `room`"), "{body}");

    // Both pass; an extractor that needs the state ran too.
    let mut request = ws_url(&server, "/ws/guarded?room=lobby")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_static("Bearer alice"));
    let (mut client, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        text(&mut client).await,
        "alice in lobby: welcome to the guarded room"
    );
    server.stop().await;
}

#[tokio::test]
async fn upgrade_picks_a_subprotocol_adds_headers_and_attaches_context() {
    let (server, events) = start().await;
    let mut request = ws_url(&server, "/ws/probe?name=alice")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("probe.v1, probe.v2"),
    );
    request
        .headers_mut()
        .insert("x-test", HeaderValue::from_static("42"));
    let (mut client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "probe.v2");
    assert_eq!(response.headers()["x-probe"], "yes");
    assert_eq!(
        text(&mut client).await,
        "hello alice",
        "the context reached open"
    );
    assert_eq!(
        events.wait_for("upgrade").await,
        "upgrade alice true",
        "the remote address is known"
    );
    say(&mut client, "header x-test").await;
    assert_eq!(text(&mut client).await, "42");
    server.stop().await;
}

#[tokio::test]
async fn hooks_run_in_order_and_close_gets_the_code_and_reason() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=bo").await;
    assert_eq!(text(&mut client).await, "hello bo");
    say(&mut client, "close 4000 bye").await;
    assert_eq!(closed(&mut client).await, (4000, "bye".to_owned()));
    events.wait_for("close").await;
    assert_eq!(
        events.all(),
        [
            "upgrade bo true",
            "open bo",
            "message bo close 4000 bye",
            "close bo 4000 bye"
        ]
    );

    let mut client = connect(&server, "/ws/probe?name=cy").await;
    text(&mut client).await;
    client
        .close(Some(tungstenite::protocol::CloseFrame {
            code: 4001.into(),
            reason: "done".into(),
        }))
        .await
        .unwrap();
    assert_eq!(
        events.wait_for("close cy").await,
        "close cy 4001 done",
        "a client's close reaches the hook"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_close_frame_on_the_wire_is_always_a_valid_one() {
    let (server, events) = start().await;
    // A reason over the 123 bytes a close frame holds is cut at a character's boundary.
    let mut client = connect(&server, "/ws/probe?name=long").await;
    text(&mut client).await;
    let reason = "é".repeat(100); // 200 bytes
    say(&mut client, &format!("close 4000 {reason}")).await;
    let (code, sent) = closed(&mut client).await;
    assert_eq!(code, 4000);
    assert_eq!(sent, "é".repeat(61), "123 bytes hold 61 of them");
    assert_eq!(
        events.wait_for("close long").await,
        format!("close long 4000 {sent}"),
        "the hook is told what was sent"
    );
    // A code that only reports how a connection closed is refused, and the peer stays open.
    let mut client = connect(&server, "/ws/probe?name=odd").await;
    text(&mut client).await;
    say(&mut client, "close 1006 gone").await;
    assert_eq!(
        text(&mut client).await,
        "close code 1006 cannot be sent: it only reports how a connection closed, and is never sent"
    );
    say(&mut client, "close 1000 bye").await;
    assert_eq!(closed(&mut client).await, (1000, "bye".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn hooks_of_one_peer_never_overlap_and_keep_message_order() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=o").await;
    text(&mut client).await;
    // Sent back to back: a slow hook must finish before the next message's hook starts.
    for m in ["slow 150", "slow 10", "slow 60", "last"] {
        say(&mut client, m).await;
    }
    assert_eq!(text(&mut client).await, "echo last");
    let log: Vec<String> = events
        .all()
        .into_iter()
        .filter(|e| !e.starts_with("upgrade") && !e.starts_with("open"))
        .collect();
    assert_eq!(
        log,
        [
            "message o slow 150",
            "slow start 150",
            "slow end 150",
            "message o slow 10",
            "slow start 10",
            "slow end 10",
            "message o slow 60",
            "slow start 60",
            "slow end 60",
            "message o last",
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn peer_topics_publish_peers_and_ids() {
    let (server, _) = start().await;
    let mut alice = connect(&server, "/ws/probe?name=alice").await;
    text(&mut alice).await;
    let mut bob = connect(&server, "/ws/probe?name=bob").await;
    text(&mut bob).await;

    for m in ["sub a", "sub t", "sub a", "topics"] {
        say(&mut alice, m).await;
    }
    assert_eq!(
        text(&mut alice).await,
        "a,t",
        "subscribing twice is one subscription"
    );
    say(&mut alice, "unsub a").await;
    say(&mut alice, "topics").await;
    assert_eq!(text(&mut alice).await, "t");

    // bob publishes without being subscribed; alice gets it once.
    say(&mut bob, "pub t hi alice").await;
    assert_eq!(text(&mut alice).await, "hi alice");
    // alice publishes to her own topic: not back to her (her next message is the id reply).
    say(&mut alice, "pub t to nobody else").await;
    say(&mut alice, "id").await;
    assert!(text(&mut alice).await.starts_with("peer-"));
    // publishing to an empty topic is a no-op
    say(&mut bob, "pub nobody-here x").await;
    say(&mut bob, "peers").await;
    assert_eq!(text(&mut bob).await, "2", "peers() lists the route's peers");
    say(&mut bob, "buffered").await;
    let buffered: usize = text(&mut bob).await.parse().unwrap();
    assert!(buffered < 64 << 10, "{buffered}");
    server.stop().await;
}

#[tokio::test]
async fn messages_text_binary_json_and_display() {
    let (server, _) = start().await;
    let mut client = connect(&server, "/ws/probe?name=m").await;
    text(&mut client).await;
    say(&mut client, "binary abc").await;
    assert_eq!(next(&mut client).await, Message::binary(b"abc".to_vec()));
    client
        .send(Message::binary(b"kind".to_vec()))
        .await
        .unwrap();
    assert_eq!(text(&mut client).await, "binary");
    say(&mut client, "kind").await;
    assert_eq!(text(&mut client).await, "text");
    say(&mut client, r#"{"n": 1}"#).await;
    assert_eq!(text(&mut client).await, r#"json {"n":1}"#);
    say(&mut client, "{bad").await;
    assert!(
        text(&mut client).await.starts_with("bad json: "),
        "bad JSON is an Err, not a panic"
    );
    say(&mut client, "still here").await;
    assert_eq!(text(&mut client).await, "echo still here");
    server.stop().await;
}

#[tokio::test]
async fn terminate_drops_the_connection_and_close_gets_1006() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=t").await;
    text(&mut client).await;
    say(&mut client, "terminate").await;
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match client.next().await {
                Some(Ok(Message::Close(_))) => return "close frame",
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return "dropped",
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end, "dropped", "no closing handshake");
    assert_eq!(events.wait_for("close t").await, "close t 1006 terminated");
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_hook_calls_error_closes_with_1011_and_the_server_carries_on() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=p").await;
    text(&mut client).await;
    say(&mut client, "panic").await;
    assert_eq!(closed(&mut client).await.0, 1011);
    assert_eq!(
        events.wait_for("error p").await,
        "error p the `message` hook panicked: probe asked to panic"
    );
    assert_eq!(
        events.wait_for("close p").await,
        "close p 1011 internal error"
    );
    let mut other = connect(&server, "/ws/probe?name=q").await;
    assert_eq!(text(&mut other).await, "hello q");
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_topic_hook_calls_error_too() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=t").await;
    text(&mut client).await;
    say(&mut client, "sub news").await;
    say(&mut client, "topics").await;
    assert_eq!(text(&mut client).await, "news");
    let mut other = connect(&server, "/ws/probe?name=o").await;
    text(&mut other).await;
    say(&mut other, "pub news panic").await;
    assert_eq!(closed(&mut client).await.0, 1011);
    assert_eq!(
        events.wait_for("error t").await,
        "error t the `topic` hook panicked: probe's topic hook asked to panic"
    );
    assert_eq!(
        events.wait_for("close t").await,
        "close t 1011 internal error"
    );
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=u").await;
    text(&mut client).await;
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let frame = Frame::from_payload(header, vec![0xff, 0xfe, 0x41].into());
    client.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(closed(&mut client).await.0, 1007);
    assert_eq!(
        events.wait_for("error u").await,
        "error u a text frame was not valid UTF-8"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_oversize_message_closes_with_1009() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=big").await;
    text(&mut client).await;
    say(&mut client, &"x".repeat(2000)).await; // the probe's limit is 1024 bytes
    assert_eq!(closed(&mut client).await.0, 1009);
    assert!(
        events
            .wait_for("error big")
            .await
            .contains("over the limit of 1024")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1008_and_others_are_unaffected() {
    let (server, events) = start().await;
    let mut slow = connect(&server, "/ws/probe?name=slow").await;
    text(&mut slow).await;
    let (mut fine, mut from_fine) = keep_reading(connect(&server, "/ws/probe?name=fine").await);
    assert_eq!(received(&mut from_fine).await, "hello fine");
    // `slow` stops reading: the server's writer backs up behind the full socket, the queue passes
    // its limit, and the peer is closed. (Its close frame waits behind the unread data, so the
    // closing handshake times out and the connection is cut; the hook still gets 1008.)
    say(&mut slow, "flood").await;
    assert_eq!(
        events.wait_for("close slow").await,
        "close slow 1008 slow consumer: outbound buffer full"
    );
    drop(slow);
    assert_eq!(
        (
            nitrous::ws::SLOW_CONSUMER_CODE.get(),
            nitrous::ws::SLOW_CONSUMER_REASON
        ),
        (1008, "slow consumer: outbound buffer full")
    );
    fine.send(Message::text("still fine")).await.unwrap();
    assert_eq!(received(&mut from_fine).await, "echo still fine");
    server.stop().await;
}

#[tokio::test]
async fn heartbeats_terminate_a_silent_peer_and_keep_a_live_one() {
    let (server, events) = start().await;
    // `live` reads all the time, so its client library answers the pings.
    let (mut live, mut from_live) = keep_reading(connect(&server, "/ws/probe?name=live").await);
    assert_eq!(received(&mut from_live).await, "hello live");
    // `silent` never reads again, so it never answers a ping.
    let mut silent = connect(&server, "/ws/probe?name=silent").await;
    text(&mut silent).await;
    assert_eq!(
        events.wait_for("error silent").await,
        "error silent the peer did not answer pings in time"
    );
    assert_eq!(
        events.wait_for("close silent").await,
        "close silent 1006 heartbeat timeout"
    );
    live.send(Message::text("id")).await.unwrap();
    let id = received(&mut from_live).await;
    assert!(
        id.starts_with("peer-"),
        "the reading peer outlived the silent one's timeout: {id}"
    );
    drop(silent);
    server.stop().await;
}

#[tokio::test]
async fn route_params_reach_the_peer_and_rooms_are_topics() {
    let (server, _) = start().await;
    let mut one = connect(&server, "/ws/lobby").await;
    assert_eq!(text(&mut one).await, "joined lobby");
    let mut two = connect(&server, "/ws/lobby").await;
    assert_eq!(text(&mut two).await, "joined lobby");
    let mut elsewhere = connect(&server, "/ws/kitchen").await;
    assert_eq!(text(&mut elsewhere).await, "joined kitchen");
    say(&mut one, "hi").await;
    assert_eq!(text(&mut two).await, "lobby: hi");
    say(&mut elsewhere, "hey").await;
    say(&mut two, "back").await;
    assert_eq!(
        text(&mut one).await,
        "lobby: back",
        "the kitchen's message did not reach the lobby"
    );
    drop((one, two, elsewhere)); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn one_path_serves_a_plain_get_and_the_socket() {
    let (server, _) = start().await;
    assert_eq!(
        support::get(&server.url("/ws/page")).await,
        (200, "a plain GET".to_owned())
    );
    let mut client = connect(&server, "/ws/page").await;
    say(&mut client, "hi").await;
    assert_eq!(text(&mut client).await, "socket got hi");
    // WebSocket routes skip the /api prefix: there, the fixture's `[org]/[repo].rs` answers.
    assert_eq!(
        support::get(&server.url("/api/ws/page")).await.1,
        "repo ws/page"
    );
    drop(client); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn a_server_side_publish_from_http_reaches_every_subscriber_once() {
    let (server, _) = start().await;
    let mut a = connect(&server, "/ws/chat").await;
    json(&mut a).await;
    settled(&mut a).await;
    let mut b = connect(&server, "/ws/chat").await;
    json(&mut b).await;
    settled(&mut b).await;
    json(&mut a).await; // b joined
    let reply = reqwest::Client::new()
        .post(server.url("/api/announce"))
        .body("news")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.text().await.unwrap(), "reached 2");
    assert_eq!(json(&mut a).await, chat("server", "news"));
    assert_eq!(json(&mut b).await, chat("server", "news"));
    // exactly once: the next message each sees is the pong to its own ping
    settled(&mut a).await;
    settled(&mut b).await;
    drop((a, b)); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn the_origin_check_refuses_cross_site_pages_only() {
    let (server, _) = start().await;
    let with_origin = |origin: &str| {
        let mut request = ws_url(&server, "/ws/chat").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
        request
    };
    match tokio_tungstenite::connect_async(with_origin("http://evil.test")).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            // The refusal says what it compared and how to allow the origin.
            let body = String::from_utf8(response.into_body().unwrap_or_default()).unwrap();
            assert!(body.contains("Origin http://evil.test"), "{body}");
            assert!(body.contains(&format!("Host {}", server.addr)), "{body}");
            assert!(
                body.contains(r#"AllowedOrigins::list(["http://evil.test"])"#),
                "{body}"
            );
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let same = format!("http://{}", server.addr);
    assert!(
        tokio_tungstenite::connect_async(with_origin(&same))
            .await
            .is_ok(),
        "same origin is allowed"
    );
    assert!(
        tokio_tungstenite::connect_async(ws_url(&server, "/ws/chat"))
            .await
            .is_ok(),
        "no Origin: not a browser"
    );
    // The echo route allows any origin.
    let mut request = ws_url(&server, "/ws/echo").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_static("http://evil.test"));
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_every_peer_with_1001_and_the_server_exits() {
    let (server, events) = start().await;
    let mut a = connect(&server, "/ws/probe?name=a").await;
    text(&mut a).await;
    let mut b = connect(&server, "/ws/chat").await;
    json(&mut b).await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(
        closed(&mut a).await,
        (1001, "server shutting down".to_owned())
    );
    assert_eq!(closed(&mut b).await.0, 1001);
    drop((a, b));
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("the server exits")
        .unwrap();
    assert_eq!(
        events.wait_for("close a").await,
        "close a 1001 server shutting down"
    );
}

#[tokio::test]
async fn a_thousand_connect_subscribe_disconnect_cycles_leave_the_hub_empty() {
    let state = AppState::default();
    let hub = Hub::new();
    let server = Server::start(router().layer(hub.layer()).with_state(state)).await;
    for i in 0..1000 {
        let room = format!("/ws/room{}", i % 7);
        let mut client = connect(&server, &room).await;
        assert!(text(&mut client).await.starts_with("joined"));
        if i % 2 == 0 {
            client.close(None).await.unwrap();
            while let Some(Ok(_)) = client.next().await {}
        } // odd ones vanish without a close frame
    }
    // `stop` waits for every session to finish, cleanup included.
    server.stop().await;
    // What the hub keeps, not only topics with subscribers: an empty topic left behind counts.
    assert_eq!(hub.kept_topic_count(), 0, "topics kept: {hub:?}");
}

#[tokio::test]
async fn a_client_that_vanishes_without_a_close_frame_still_gets_close_1006() {
    let (server, events) = start().await;
    let mut client = connect(&server, "/ws/probe?name=gone").await;
    text(&mut client).await;
    say(&mut client, "sub news").await;
    say(&mut client, "topics").await;
    assert_eq!(text(&mut client).await, "news");
    drop(client); // the TCP connection closes; no close frame
    assert_eq!(events.wait_for("close gone").await, "close gone 1006 ");
    server.stop().await;
}

#[tokio::test]
async fn a_background_task_publishes_through_a_hub_installed_on_the_router() {
    let hub = Hub::new();
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    let mut a = connect(&server, "/ws/chat").await;
    json(&mut a).await;
    settled(&mut a).await; // subscribed to "chat" by now
    assert_eq!(hub.subscriber_count("chat"), 1);
    let publisher = hub.clone();
    let reached = tokio::spawn(async move { publisher.publish("chat", chat("cron", "tick")) })
        .await
        .unwrap();
    assert_eq!(reached.unwrap(), 1);
    assert_eq!(json(&mut a).await, chat("cron", "tick"));
    drop(a); // a client that is not reading cannot finish a closing handshake
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_is_not_a_websocket_handshake_is_told_what_is_wrong() {
    let (server, _) = start().await;
    let http = reqwest::Client::new();
    let url = server.url("/ws/echo");
    let ask = |headers: &[(&'static str, &'static str)]| {
        let mut request = http.get(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            let response = request.send().await.expect("an answer");
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    const KEY: (&str, &str) = ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");

    let (status, body) = ask(&[]).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("`Connection` header does not include `upgrade`"),
        "{body}"
    );

    let (status, body) = ask(&[("connection", "upgrade"), ("upgrade", "h2c")]).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("`Upgrade` header does not include `websocket`"),
        "{body}"
    );

    let upgrade = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
    ];
    let (status, body) = ask(&[upgrade[0], upgrade[1], ("sec-websocket-version", "8"), KEY]).await;
    assert_eq!(status, 426, "RFC 6455 §4.4: Upgrade Required");
    assert!(
        body.contains("`Sec-WebSocket-Version` header is not 13"),
        "{body}"
    );

    let (status, body) = ask(&[upgrade[0], upgrade[1], ("sec-websocket-version", "13")]).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("`Sec-WebSocket-Key` header is missing"),
        "{body}"
    );

    // The same headers with a key are a handshake: 101 with RFC 6455's accept value.
    let response = http
        .get(&url)
        .header(upgrade[0].0, upgrade[0].1)
        .header(upgrade[1].0, upgrade[1].1)
        .header("sec-websocket-version", "13")
        .header(KEY.0, KEY.1)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 101);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    drop(response);

    // And the server still serves real clients.
    let mut client = connect(&server, "/ws/echo").await;
    say(&mut client, "still here").await;
    assert_eq!(text(&mut client).await, "still here");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn sends_go_out_while_a_hook_is_still_awaiting() {
    let (server, events) = start().await;
    let mut a = connect(&server, "/ws/probe?name=ann").await;
    assert_eq!(text(&mut a).await, "hello ann");
    say(&mut a, "sub room").await;
    say(&mut a, "topics").await;
    assert_eq!(text(&mut a).await, "room");
    let mut b = connect(&server, "/ws/probe?name=ben").await;
    assert_eq!(text(&mut b).await, "hello ben");

    // ann's hook holds; its own send and ben's publish both reach ann before it returns.
    say(&mut a, "hold h1").await;
    assert_eq!(text(&mut a).await, "holding");
    say(&mut b, "pub room from ben").await;
    assert_eq!(text(&mut a).await, "from ben");
    // Only now may the hook return: both frames above were written while it awaited.
    events.push("release h1".to_owned());
    assert_eq!(text(&mut a).await, "released");
    drop((a, b));
    server.stop().await;
}

/// What one hook publishes to a topic the peer is in, sends, and then closes with, arrives in
/// that order: topic messages and the peer's own queue are one sequence.
#[tokio::test]
async fn topic_messages_sends_and_a_close_arrive_in_the_order_they_were_made() {
    let (server, _) = start().await;
    let mut client = connect(&server, "/ws/probe?name=order").await;
    assert_eq!(text(&mut client).await, "hello order");
    say(&mut client, "sub room").await;
    say(&mut client, "topics").await;
    assert_eq!(text(&mut client).await, "room");
    say(&mut client, "interleave room").await;
    for expected in ["1", "2", "3", "4"] {
        assert_eq!(text(&mut client).await, expected);
    }
    assert_eq!(closed(&mut client).await, (1000, "done".to_owned()));
    server.stop().await;
}

/// What goes on the wire follows the payload's type, through a real socket: an empty byte vector
/// is an empty binary frame (not the JSON text `[]`), an empty string an empty text frame, JSON
/// values and `Json(..)` JSON text, and a received message goes back as its own kind.
#[tokio::test]
async fn each_payload_type_goes_out_as_its_own_kind() {
    let (server, _) = start().await;
    let mut client = connect(&server, "/ws/kinds").await;
    let mut ask = async |command: &str| {
        say(&mut client, command).await;
        next(&mut client).await
    };
    assert_eq!(
        ask("empty binary").await,
        Message::Binary(Default::default())
    );
    assert_eq!(ask("empty text").await, Message::text(""));
    assert_eq!(ask("json").await, Message::text(r#"{"n":1}"#));
    assert_eq!(ask("json ref").await, Message::text(r#"[1,"two"]"#));
    assert_eq!(
        ask("struct").await,
        Message::text(r#"{"id":7,"title":"milk"}"#)
    );
    assert_eq!(ask("bytes").await, Message::binary(vec![0u8, 255]));
    assert_eq!(ask("array").await, Message::binary(b"raw".to_vec()));
    assert_eq!(ask("string").await, Message::text("a string"));
    assert_eq!(ask("forwarded text").await, Message::text("forwarded text"));
    client.send(Message::binary(vec![1u8, 2])).await.unwrap();
    assert_eq!(next(&mut client).await, Message::binary(vec![1u8, 2]));
    client.send(Message::binary(Vec::new())).await.unwrap();
    assert_eq!(next(&mut client).await, Message::Binary(Default::default()));
    drop(client);

    // The echo a new user writes, from copies of the bytes or the text.
    let mut client = connect(&server, "/ws/echo_copies").await;
    client.send(Message::binary(Vec::new())).await.unwrap();
    assert_eq!(next(&mut client).await, Message::Binary(Default::default()));
    client.send(Message::text("")).await.unwrap();
    assert_eq!(next(&mut client).await, Message::text(""));
    client.send(Message::binary(b"[]".to_vec())).await.unwrap();
    assert_eq!(next(&mut client).await, Message::binary(b"[]".to_vec()));
    drop(client);
    server.stop().await;
}

/// A `Peer` clone kept past an abrupt disconnect (in a map, say) is closed for good: the hub holds
/// no subscription of it, it cannot subscribe again, sends fail without counting bytes, and its
/// buffered amount, large while the client was not reading, is 0.
#[tokio::test]
async fn a_peer_kept_past_its_session_holds_nothing() {
    let hub = nitrous::Hub::new();
    let state = AppState::default();
    let (events, kept) = (state.events.clone(), state.kept.clone());
    let server = Server::start(router().layer(hub.layer()).with_state(state)).await;
    let (mut client, _) = support::raw::open(&server.addr.to_string(), "/ws/keeper").await;
    let peer = loop {
        if let Some(peer) = kept.lock().unwrap().first().cloned() {
            break peer;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(hub.subscriber_count("kept"), 1);
    // The client does not read: 12 MiB published to it fill the sockets and wait in the log.
    let chunk = "k".repeat(64 << 10);
    for _ in 0..192 {
        assert_eq!(hub.publish("kept", chunk.as_str()).unwrap(), 1);
    }
    tokio::time::timeout(WAIT, async {
        while peer.buffered_amount() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("bytes wait for a client that does not read");
    assert!(
        peer.buffered_amount() > 1 << 20,
        "{}",
        peer.buffered_amount()
    );

    // The client vanishes without a close frame.
    use tokio::io::AsyncWriteExt;
    client.shutdown().await.ok();
    drop(client);
    let closed = events.wait_for("keeper closed").await;
    assert!(
        closed.starts_with("keeper closed 1006 kept"),
        "{closed}: the close hook still names its topics"
    );

    assert_eq!(
        hub.subscriber_count("kept"),
        0,
        "the hub holds no subscription"
    );
    assert_eq!(peer.buffered_amount(), 0);
    peer.subscribe("again");
    assert_eq!(
        hub.subscriber_count("again"),
        0,
        "a closed peer cannot subscribe"
    );
    assert!(matches!(
        peer.try_send("late"),
        Err(nitrous::ws::SendError::Closed)
    ));
    assert_eq!(peer.buffered_amount(), 0, "a failed send counts nothing");
    assert_eq!(hub.publish("kept", "to nobody").unwrap(), 0);
    server.stop().await;
}

/// A page that reconnects with the last offset it saw gets exactly what it missed, then what
/// comes next, each once; one that was away longer than the topic keeps is told of the gap.
#[tokio::test]
async fn a_peer_resumes_a_retained_topic_from_the_offset_its_page_saw_last() {
    let hub = Hub::new();
    hub.retain("feed", 4);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    let mut page = connect(&server, "/ws/resumable").await;
    assert_eq!(text(&mut page).await, "subscribed");
    for n in 1..=3 {
        hub.publish("feed", format!("m{n}")).unwrap();
    }
    let mut seen = Vec::new();
    for n in 1..=3 {
        let message = json(&mut page).await;
        assert_eq!(message["text"], format!("m{n}"));
        seen.push(message["offset"].as_str().expect("an offset").to_owned());
    }
    drop(page);
    while hub.subscriber_count("feed") > 0 {
        tokio::task::yield_now().await;
    }
    // Published while the page was away.
    hub.publish("feed", "m4").unwrap();
    hub.publish("feed", "m5").unwrap();

    let mut back = connect(&server, &format!("/ws/resumable?since={}", seen[2])).await;
    assert_eq!(text(&mut back).await, "subscribed");
    hub.publish("feed", "m6").unwrap();
    for n in 4..=6 {
        assert_eq!(
            json(&mut back).await["text"],
            format!("m{n}"),
            "in order, once each"
        );
    }

    // Away for longer than the topic keeps (four messages): told, then what there is.
    let mut late = connect(&server, &format!("/ws/resumable?since={}", seen[0])).await;
    assert_eq!(text(&mut late).await, "subscribed");
    let gap = json(&mut late).await;
    assert_eq!(gap["gap"]["after"], seen[0].as_str(), "{gap}");
    for n in 3..=6 {
        assert_eq!(json(&mut late).await["text"], format!("m{n}"));
    }
    drop((back, late));
    server.stop().await;
}

/// A handler with no `topic_gap` hook still tells a resuming page of its gap: nitrous's default
/// frame, before what is replayed.
#[tokio::test]
async fn a_resuming_peer_is_told_of_its_gap_without_a_topic_gap_hook() {
    let hub = Hub::new();
    hub.retain("feed", 2);
    let server = Server::start(router().layer(hub.layer()).with_state(AppState::default())).await;
    for n in 1..=3 {
        hub.publish("feed", format!("m{n}")).unwrap();
    }
    // An offset of another history (an earlier process's, say): what it saw is not here.
    let mut page = connect(&server, "/ws/resumed_plainly?since=1-1").await;
    assert_eq!(text(&mut page).await, "subscribed");
    let gap = json(&mut page).await;
    assert_eq!(gap["type"], "nitrous-replay-gap", "{gap}");
    assert_eq!(gap["topic"], "feed", "{gap}");
    assert_eq!(gap["after"], "1-1", "{gap}");
    assert!(gap["resumed_at"].is_string(), "{gap}");
    assert_eq!(text(&mut page).await, "m2", "then what the topic keeps");
    assert_eq!(text(&mut page).await, "m3");
    hub.publish("feed", "m4").unwrap();
    assert_eq!(text(&mut page).await, "m4", "as published: no topic hook");
    drop(page);
    server.stop().await;
}
