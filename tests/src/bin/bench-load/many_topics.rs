//! One WebSocket peer in many topics (`/ws/topics`): it subscribes to them a tenth at a time,
//! then, a tenth at a time, each of them gets one publish and the client waits for all of that
//! tenth's messages (what a frame costs the peer's writer with every topic's cursor to look
//! at), then it unsubscribes a tenth at a time, the last subscribed first. Each step is timed
//! by the client, from its command to the server's answer.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{Client, Failure};

/// Seconds per tenth, in the order the steps ran.
#[derive(Debug)]
pub(crate) struct ManyTopics {
    pub(crate) topics: usize,
    pub(crate) subscribe: Vec<f64>,
    pub(crate) publish: Vec<f64>,
    /// Unsubscribing the last tenth first: slot 0 left the peer in 90% of the topics.
    pub(crate) unsubscribe: Vec<f64>,
}

pub(crate) async fn run(addr: &str, topics: usize) -> Result<ManyTopics, Failure> {
    let mut client = crate::connect(&format!("ws://{addr}/ws/topics")).await?;
    let tenth = (topics / 10).max(1);
    let ranges: Vec<(usize, usize)> = (0..topics)
        .step_by(tenth)
        .map(|from| (from, (from + tenth).min(topics)))
        .collect();
    let mut subscribe = Vec::new();
    for &(from, to) in &ranges {
        subscribe.push(command(&mut client, &format!("sub {from} {to}")).await?);
    }
    let mut publish = Vec::new();
    for &(from, to) in &ranges {
        let start = Instant::now();
        send(&mut client, &format!("pub {from} {to}")).await?;
        let mut got = 0;
        while got < to - from {
            let text = next_text(&mut client).await?;
            match text.parse::<usize>() {
                Ok(topic) if (from..to).contains(&topic) => got += 1,
                _ => {
                    return Err(Failure::Failed(format!(
                        "topics: expected a topic's number in {from}..{to}, got {text:?}"
                    )));
                }
            }
        }
        publish.push(start.elapsed().as_secs_f64());
    }
    let mut unsubscribe = Vec::new();
    for &(from, to) in ranges.iter().rev() {
        unsubscribe.push(command(&mut client, &format!("unsub {from} {to}")).await?);
    }
    let _ = client.close(None).await;
    Ok(ManyTopics {
        topics,
        subscribe,
        publish,
        unsubscribe,
    })
}

/// Sends `text` and waits for `done`: the seconds it took.
async fn command(client: &mut Client, text: &str) -> Result<f64, Failure> {
    let start = Instant::now();
    send(client, text).await?;
    match next_text(client).await?.as_str() {
        "done" => Ok(start.elapsed().as_secs_f64()),
        other => Err(Failure::Failed(format!(
            "topics: {text} answered {other:?}"
        ))),
    }
}

async fn send(client: &mut Client, text: &str) -> Result<(), Failure> {
    client
        .send(Message::text(text))
        .await
        .map_err(|e| Failure::Failed(format!("topics: {e}")))
}

async fn next_text(client: &mut Client) -> Result<String, Failure> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Ok(text.as_str().to_owned()),
            Ok(Some(Ok(_))) => continue,
            other => return Err(Failure::Failed(format!("topics: ended: {other:?}"))),
        }
    }
}
