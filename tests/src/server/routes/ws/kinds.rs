//! Every kind of payload a handler can send, by command: the frame's kind follows the argument's
//! type.

use nitrous::Json;
use nitrous::ws::{Message, Peer, WebSocketHandler};
use serde_json::json;

#[derive(Default)]
pub struct Kinds;

#[derive(serde::Serialize)]
struct Todo {
    id: u32,
    title: &'static str,
}

impl WebSocketHandler for Kinds {
    async fn message(&self, peer: &Peer, message: Message) {
        match &*message.text() {
            "empty binary" => peer.send(Vec::<u8>::new()),
            "empty text" => peer.send(""),
            "json" => peer.send(json!({ "n": 1 })),
            "json ref" => {
                let value = json!([1, "two"]);
                peer.send(&value);
            }
            "struct" => peer.send(Json(Todo { id: 7, title: "milk" })),
            "bytes" => peer.send(bytes::Bytes::from_static(b"\x00\xff")),
            "array" => peer.send(b"raw"),
            "string" => peer.send(String::from("a string")),
            _ => peer.send(message), // forwarded: its own kind
        }
    }
}
