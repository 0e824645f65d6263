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
//! **Retained topics** ([`Hub::retain`](crate::Hub::retain)) keep their history in a Redis Stream
//! of the same name, `XADD`ed with `MAXLEN ~ capacity` (and an expiry,
//! [`RedisConfig::stream_ttl`]): a message's [`Offset`](crate::Offset) is its stream id, the same
//! on every instance and across restarts. One script appends the message and publishes it (with
//! its id) on the topic's channel, so every instance, the publishing one too, delivers the
//! topic's messages in the stream's order. A resume an instance cannot serve from what it
//! received itself reads the stream (`XREVRANGE`, at most [`REPLAY_LIMIT`] messages, within
//! [`RedisConfig::replay_timeout`]).
//!
//! **During an outage** (Redis unreachable at start or lost later) local delivery goes on:
//! plain topics unchanged, retained ones without an offset (they are not in the shared history).
//! Messages published while the connection is down do not reach the other instances and are not
//! replayed later; a resume that needs the stream gets the gap signal once the read fails or
//! times out. The instance reconnects with backoff (0.1 s doubling to 5 s), resubscribes its
//! topics, and logs the outage and the recovery once each, with the number of messages lost; the
//! stream ids go on from where they were, so no offset is reused.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{Backlog, Broker, Envelope, Inbox, Replay};
use crate::offset::Offset;

/// How many queued publishes and appends go to Redis in one round trip.
const SEND_BATCH: usize = 256;

/// The most messages one resume reads from a stream (the newest, when there are more; the
/// subscriber's own budget may keep fewer).
pub const REPLAY_LIMIT: usize = 10_000;

/// Appends a message to a retained topic's stream and publishes it, with its id, on the topic's
/// channel, in one step: every instance receives a topic's messages in the stream's order.
/// KEYS[1] is the stream (and the channel); ARGV: capacity, the envelope, the expiry in ms.
const APPEND: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', KEYS[1], id .. '\n' .. ARGV[2])
return id
";

/// Where the Redis server is and how channels are named.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    url: String,
    channel_prefix: String,
    stream_ttl: Option<Duration>,
    replay_timeout: Duration,
}

impl RedisConfig {
    /// `redis://host:port[/db]`; channels are prefixed `nitrous:`.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            channel_prefix: "nitrous:".to_owned(),
            stream_ttl: Some(Duration::from_secs(24 * 60 * 60)),
            replay_timeout: Duration::from_secs(2),
        }
    }

    /// How long a retained topic's stream lives after its last message (default 24 h), so an
    /// app with a topic per document does not keep every document's history forever; `None`
    /// keeps streams until they are deleted.
    pub fn stream_ttl(mut self, ttl: Option<Duration>) -> RedisConfig {
        self.stream_ttl = ttl;
        self
    }

    /// How long a resume waits for a stream to be read (default 2 s) before its subscriber is
    /// told of a gap and goes on live.
    pub fn replay_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.replay_timeout = timeout;
        self
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
    Append {
        topic: String,
        envelope: Envelope,
        capacity: usize,
    },
    Replay(Replay),
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

    fn keeps_history(&self) -> bool {
        true
    }

    fn append(&self, topic: &str, envelope: Envelope, capacity: usize) {
        let _ = self.commands.send(Command::Append {
            topic: topic.to_owned(),
            envelope,
            capacity,
        });
    }

    fn replay(&self, replay: Replay) {
        // Dropped unanswered if the task is gone: the subscriber is told of a gap.
        let _ = self.commands.send(Command::Replay(replay));
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
    let mut connected_before = false;
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
                    if connected_before {
                        // What was published meanwhile may be missing here.
                        inbox.reconnected();
                    }
                    connected_before = true;
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
                    // A command taken while batching appends, to run next.
                    let mut deferred: Option<Command> = None;
                    loop {
                        let next = match deferred.take() {
                            Some(command) => Some(command),
                            None => tokio::select! {
                                command = commands.recv() => match command {
                                    None => return, // the hub is gone
                                    command => command,
                                },
                                message = stream.next() => match message {
                                    None => break,
                                    Some(message) => {
                                        let Some(topic) = message.get_channel_name().strip_prefix(&config.channel_prefix) else { continue };
                                        let alive = match decode(message.get_payload_bytes()) {
                                            Some((Some(offset), envelope)) => inbox.deliver_at(topic, offset, envelope),
                                            Some((None, envelope)) => inbox.deliver(topic, envelope),
                                            None => {
                                                tracing::debug!(%topic, "nitrous: ignored a message that is not nitrous's on a broker channel");
                                                true
                                            }
                                        };
                                        if !alive {
                                            return;
                                        }
                                        continue;
                                    }
                                },
                            },
                        };
                        match next {
                            None => return,
                            Some(Command::Subscribe(channel)) => {
                                if sink.subscribe(channel).await.is_err() {
                                    break;
                                }
                            }
                            Some(Command::Unsubscribe(channel)) => {
                                if sink.unsubscribe(channel).await.is_err() {
                                    break;
                                }
                            }
                            Some(first @ (Command::Publish(..) | Command::Append { .. })) => {
                                // What else is queued to go out goes in the same round trip, in
                                // order.
                                let mut batch = vec![first];
                                while batch.len() < SEND_BATCH {
                                    match commands.try_recv() {
                                        Ok(
                                            next @ (Command::Publish(..) | Command::Append { .. }),
                                        ) => {
                                            batch.push(next);
                                        }
                                        Ok(other) => {
                                            deferred = Some(other);
                                            break;
                                        }
                                        Err(_) => break,
                                    }
                                }
                                let ttl = config.stream_ttl.map_or(0, |ttl| ttl.as_millis() as u64);
                                let mut pipe = redis::pipe();
                                for command in &batch {
                                    match command {
                                        Command::Publish(channel, bytes) => {
                                            pipe.cmd("PUBLISH").arg(channel).arg(bytes).ignore();
                                        }
                                        Command::Append {
                                            topic,
                                            envelope,
                                            capacity,
                                        } => {
                                            pipe.cmd("EVAL")
                                                .arg(APPEND)
                                                .arg(1)
                                                .arg(format!("{}{topic}", config.channel_prefix))
                                                .arg((*capacity).max(1))
                                                .arg(envelope.encode())
                                                .arg(ttl)
                                                .ignore();
                                        }
                                        _ => {}
                                    }
                                }
                                let sent: redis::RedisResult<()> =
                                    pipe.query_async(&mut publisher).await;
                                if sent.is_err() {
                                    // Whether they reached Redis is unknown; retained messages
                                    // are delivered here in any case.
                                    lost += batch.len() as u64;
                                    for command in batch {
                                        if let Command::Append {
                                            topic, envelope, ..
                                        } = command
                                        {
                                            inbox.undelivered(&topic, envelope);
                                        }
                                    }
                                    break;
                                }
                            }
                            Some(Command::Replay(replay)) => {
                                // Its own task, on a clone of the connection: a slow read
                                // must not hold up delivery. It runs after any subscription
                                // asked for before it, so nothing published in between is
                                // missed.
                                let key = format!("{}{}", config.channel_prefix, replay.topic());
                                let connection = publisher.clone();
                                let timeout = config.replay_timeout;
                                tokio::spawn(async move {
                                    match tokio::time::timeout(
                                        timeout,
                                        read_history(
                                            connection,
                                            &key,
                                            replay.after(),
                                            replay.limit(),
                                        ),
                                    )
                                    .await
                                    {
                                        Ok(Ok(backlog)) => replay.answer(backlog),
                                        Ok(Err(e)) => {
                                            tracing::warn!(%key, "nitrous: cannot read a retained topic's stream for a resume ({e}); its subscriber is told of a gap");
                                            replay.fail();
                                        }
                                        Err(_) => {
                                            tracing::warn!(%key, "nitrous: reading a retained topic's stream for a resume timed out; its subscriber is told of a gap");
                                            replay.fail();
                                        }
                                    }
                                });
                            }
                        }
                    }
                    // Taken while batching, not run: an append is still delivered here.
                    if let Some(Command::Append {
                        topic, envelope, ..
                    }) = deferred
                    {
                        lost += 1;
                        inbox.undelivered(&topic, envelope);
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
                    Some(Command::Append { topic, envelope, .. }) => {
                        lost += 1;
                        inbox.undelivered(&topic, envelope);
                    }
                    Some(Command::Replay(replay)) => replay.fail(),
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

/// A channel message: a retained topic's is `{stream id}\n{envelope}`, a plain topic's the
/// envelope alone (which starts with its version byte, never an ASCII digit).
fn decode(bytes: &[u8]) -> Option<(Option<Offset>, Envelope)> {
    if bytes.first().is_some_and(u8::is_ascii_digit) {
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        let offset = Offset::parse(std::str::from_utf8(&bytes[..newline]).ok()?)?;
        return Some((Some(offset), Envelope::decode(&bytes[newline + 1..])?));
    }
    Some((None, Envelope::decode(bytes)?))
}

/// What a retained topic's stream holds after `after`: at most `limit` (and [`REPLAY_LIMIT`])
/// of its newest messages, oldest first, and whether some that followed `after` are gone
/// (trimmed past it, cut by the limit, or the stream expired).
async fn read_history(
    mut connection: redis::aio::MultiplexedConnection,
    key: &str,
    after: Option<Offset>,
    limit: usize,
) -> redis::RedisResult<Backlog> {
    let count = limit.clamp(1, REPLAY_LIMIT);
    let start = after.map_or_else(|| "-".to_owned(), |after| format!("({after}"));
    let newest: redis::Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg(&start)
        .arg("COUNT")
        .arg(count)
        .query_async(&mut connection)
        .await?;
    let mut messages = entries(newest);
    messages.reverse();
    let Some(after) = after else {
        return Ok(Backlog {
            messages,
            missed: true,
        });
    };
    // Cut by the count: the oldest kept is not the first after `after`. (Only then: with fewer,
    // what was appended since the read is delivered live.)
    let mut missed = false;
    if messages.len() == count {
        let first_after = first(&mut connection, key, &start).await?;
        missed = first_after != messages.first().map(|(offset, _)| *offset);
    }
    // Trimmed past `after` (or the stream expired): `after` is gone and older than what is
    // left. (Redis does not record what trimming removed; a client that saw exactly the last
    // message trimmed is told of a gap it did not have, never the other way round.)
    let exact = format!("{after}");
    let still_there = first(&mut connection, key, &exact).await? == Some(after);
    let oldest = first(&mut connection, key, "-").await?;
    missed |= !still_there && oldest.is_none_or(|oldest| after < oldest);
    Ok(Backlog { messages, missed })
}

/// The offset of the first entry at or after `start` (`-` for the oldest, `(id` for after `id`).
async fn first(
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
    start: &str,
) -> redis::RedisResult<Option<Offset>> {
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(key)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(connection)
        .await?;
    Ok(entries(reply).into_iter().next().map(|(offset, _)| offset))
}

/// The entries of an `XRANGE`/`XREVRANGE` reply, as nitrous wrote them (field `m`).
fn entries(reply: redis::Value) -> Vec<(Offset, Envelope)> {
    let redis::Value::Array(items) = reply else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let redis::Value::Array(mut parts) = item else {
                return None;
            };
            let fields = parts.pop()?;
            let id = text(&parts.pop()?)?;
            let redis::Value::Array(fields) = fields else {
                return None;
            };
            let bytes = fields.chunks(2).find_map(|pair| match pair {
                [name, redis::Value::BulkString(bytes)] if text(name).as_deref() == Some("m") => {
                    Some(bytes.clone())
                }
                _ => None,
            })?;
            Some((Offset::parse(&id)?, Envelope::decode(&bytes)?))
        })
        .collect()
}

fn text(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        redis::Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    #[test]
    fn channel_messages_of_retained_and_plain_topics_decode() {
        let envelope = Envelope::new(7, Payload::text("hi"), None);
        let mut retained = b"1764627000123-4\n".to_vec();
        retained.extend_from_slice(&envelope.encode());
        let (offset, decoded) = decode(&retained).expect("retained");
        assert_eq!(offset, Offset::parse("1764627000123-4"));
        assert_eq!(decoded, envelope);
        assert_eq!(decode(&envelope.encode()), Some((None, envelope)));
        assert_eq!(decode(b"12-x\nnope"), None);
        assert_eq!(decode(b""), None);
    }
}
