//! A real WebSocket client's side of a conversation: the next frame, as text or JSON, and sending.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for anything the server should do at once.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// The next data or close frame (pings are answered by the client library).
pub(crate) async fn next(client: &mut Client) -> Message {
    loop {
        match tokio::time::timeout(WAIT, client.next())
            .await
            .expect("a message within 5 s")
        {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            Some(Err(e)) => panic!("client error: {e}"),
            None => panic!("the connection ended"),
        }
    }
}

/// The next frame, which must be text.
pub(crate) async fn text(client: &mut Client) -> String {
    match next(client).await {
        Message::Text(text) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The next frame, which must be JSON text.
pub(crate) async fn json(client: &mut Client) -> Value {
    serde_json::from_str(&text(client).await).expect("JSON text")
}

pub(crate) async fn say(client: &mut Client, text: &str) {
    client.send(Message::text(text)).await.expect("send");
}
