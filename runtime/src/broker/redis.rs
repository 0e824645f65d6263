//! Redis pub/sub as the [`Broker`] (cargo feature `redis`): several nitrous processes share their
//! topics through one Redis server.
//!
//! ```no_run
//! use nitrous::Hub;
//! use nitrous::broker::redis::{RedisBroker, RedisConfig};
//!
//! # async fn demo() {
//! // inside the tokio runtime: the broker runs a task of its own
//! let hub = Hub::with_broker(RedisBroker::new(RedisConfig::new("redis://127.0.0.1:6379")));
//! // router().layer(hub.layer()) makes the routes publish and subscribe through it
//! # let _ = hub;
//! # }
//! ```
//!
//! Each topic is the Redis channel `{channel_prefix}{topic}`; an instance subscribes in Redis only
//! to topics it has local subscribers for, and unsubscribes when the last one leaves.
//!
//! **During an outage** (Redis unreachable at start or lost later) local delivery goes on
//! unchanged. Messages published while the connection is down do not reach the other instances
//! and are not replayed later (Redis pub/sub keeps nothing); the instance reconnects with backoff
//! (0.1 s doubling to 5 s), resubscribes its topics, and logs the outage and the recovery once each,
//! with the number of messages lost.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{Broker, Envelope, Inbox};

/// Where the Redis server is and how channels are named.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    url: String,
    channel_prefix: String,
}

impl RedisConfig {
    /// `redis://host:port[/db]`; channels are prefixed `nitrous:`.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            channel_prefix: "nitrous:".to_owned(),
        }
    }

    /// The prefix of every channel name, to share one Redis between apps.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> RedisConfig {
        self.channel_prefix = prefix.into();
        self
    }
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Publish(String, Vec<u8>),
}

/// The Redis broker; install it with [`Hub::with_broker`](crate::Hub::with_broker).
pub struct RedisBroker {
    config: RedisConfig,
    commands: mpsc::UnboundedSender<Command>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("config", &self.config)
            .finish()
    }
}

impl RedisBroker {
    /// A broker for `config`; it connects once installed with
    /// [`Hub::with_broker`](crate::Hub::with_broker), inside the tokio runtime.
    pub fn new(config: RedisConfig) -> RedisBroker {
        let (commands, receiver) = mpsc::unbounded_channel();
        RedisBroker {
            config,
            commands,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}{topic}", self.config.channel_prefix)
    }
}

impl Broker for RedisBroker {
    fn start(&self, inbox: Inbox) {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            tracing::error!("nitrous: a RedisBroker serves one hub; make one per hub");
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(run(self.config.clone(), receiver, inbox));
            }
            Err(_) => tracing::error!(
                "nitrous: Hub::with_broker(RedisBroker) must be called inside the tokio runtime; topics stay local"
            ),
        }
    }

    fn subscribe(&self, topic: &str) {
        let _ = self.commands.send(Command::Subscribe(self.channel(topic)));
    }

    fn unsubscribe(&self, topic: &str) {
        let _ = self
            .commands
            .send(Command::Unsubscribe(self.channel(topic)));
    }

    fn publish(&self, topic: &str, envelope: Envelope) {
        let _ = self
            .commands
            .send(Command::Publish(self.channel(topic), envelope.encode()));
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The broker's task: one connection for publishing (in order), one for subscriptions; on loss,
/// back off, reconnect and resubscribe. Ends when the hub is gone.
async fn run(config: RedisConfig, mut commands: mpsc::UnboundedReceiver<Command>, inbox: Inbox) {
    let client = match redis::Client::open(config.url.as_str()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(url = %config.url, "nitrous: invalid Redis URL ({e}); topics stay local");
            return;
        }
    };
    let mut backoff = FIRST_BACKOFF;
    let mut down_since: Option<Instant> = None;
    let mut lost = 0u64;
    loop {
        match connect(&client).await {
            Ok((mut sink, mut stream, mut publisher)) => {
                let topics = inbox.topics();
                let mut resubscribed = true;
                for topic in &topics {
                    if sink
                        .subscribe(format!("{}{topic}", config.channel_prefix))
                        .await
                        .is_err()
                    {
                        resubscribed = false;
                        break;
                    }
                }
                if resubscribed {
                    match down_since.take() {
                        Some(since) => tracing::info!(
                            url = %config.url,
                            outage = ?since.elapsed(),
                            lost,
                            topics = topics.len(),
                            "nitrous: Redis broker reconnected; messages published during the outage did not reach other instances"
                        ),
                        None => {
                            tracing::info!(url = %config.url, "nitrous: Redis broker connected")
                        }
                    }
                    lost = 0;
                    backoff = FIRST_BACKOFF;
                    loop {
                        tokio::select! {
                            command = commands.recv() => match command {
                                None => return, // the hub is gone
                                Some(Command::Subscribe(channel)) => {
                                    if sink.subscribe(channel).await.is_err() { break }
                                }
                                Some(Command::Unsubscribe(channel)) => {
                                    if sink.unsubscribe(channel).await.is_err() { break }
                                }
                                Some(Command::Publish(channel, bytes)) => {
                                    let sent: redis::RedisResult<i64> =
                                        redis::cmd("PUBLISH").arg(channel).arg(bytes).query_async(&mut publisher).await;
                                    if sent.is_err() {
                                        lost += 1;
                                        break;
                                    }
                                }
                            },
                            message = stream.next() => match message {
                                None => break,
                                Some(message) => {
                                    let Some(topic) = message.get_channel_name().strip_prefix(&config.channel_prefix) else { continue };
                                    let Some(envelope) = Envelope::decode(message.get_payload_bytes()) else {
                                        tracing::debug!(%topic, "nitrous: ignored a message that is not nitrous's on a broker channel");
                                        continue;
                                    };
                                    if !inbox.deliver(topic, envelope) {
                                        return;
                                    }
                                }
                            },
                        }
                    }
                }
                tracing::warn!(url = %config.url, "nitrous: lost the Redis broker; local delivery goes on; reconnecting");
                down_since = Some(Instant::now());
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(url = %config.url, "nitrous: Redis broker unreachable ({e}); local delivery goes on; retrying with backoff");
                    down_since = Some(Instant::now());
                }
            }
        }
        // Wait out the backoff; what is published meanwhile cannot reach the other instances.
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Publish(..)) => lost += 1,
                    Some(_) => {} // subscriptions are re-read from the hub on reconnect
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

type Connected = (
    redis::aio::PubSubSink,
    redis::aio::PubSubStream,
    redis::aio::MultiplexedConnection,
);

async fn connect(client: &redis::Client) -> redis::RedisResult<Connected> {
    let (sink, stream) = client.get_async_pubsub().await?.split();
    let publisher = client.get_multiplexed_async_connection().await?;
    Ok((sink, stream, publisher))
}
