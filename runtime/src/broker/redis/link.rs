//! One connection to Redis, from opening it to losing it: a pub/sub connection that receives the
//! topics this instance has subscribers for, and a multiplexed one that publishes, appends and
//! reads streams. Every wait on Redis is bounded by
//! [`RedisConfig::command_timeout`](super::RedisConfig::command_timeout): a Redis that stalls
//! loses its link like one that closes it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};

use super::RedisConfig;
use super::outbox::{Command, Inbound};
use super::presence::{self, Scripts};
use super::streams::{self, append_script, decode, page_after, read_history};
use crate::broker::{Envelope, Inbox, PresenceChange, PresenceQuery};
use crate::offset::Offset;
use crate::presence::Change;

/// How many queued publishes and appends go to Redis in one round trip, and how many bytes.
const SEND_BATCH: usize = 256;
const SEND_BATCH_BYTES: usize = 1024 * 1024;

/// How often an idle link checks that Redis still answers.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// How many channels one `SUBSCRIBE` names when a link opens.
const SUBSCRIBE_CHUNK: usize = 512;

/// Why a link ended.
pub(super) enum Ended {
    /// The hub is gone: the broker's task ends.
    HubGone,
    /// The connection was lost, or Redis did not answer in time.
    Lost(String),
}

/// What the broker's task keeps across links.
#[derive(Default)]
pub(super) struct Memory {
    /// Retained topics received here, and where a reconnect goes on from: the id of the last
    /// message delivered, or, before any, the stream's newest when the topic was subscribed
    /// (`None`: the stream was empty then, so all of it is new).
    floors: HashMap<String, Option<Offset>>,
    /// This instance's appends from a batch that failed or timed out: they were delivered here
    /// without Redis, and may still reach the stream (a stalled Redis runs what it had read when
    /// it wakes). Should they come back, they are not delivered twice.
    given_up: Vec<Vec<u8>>,
}

impl Memory {
    /// Delivers a message of a retained topic's stream, unless this instance gave up on it.
    fn deliver_at(
        &mut self,
        inbox: &Inbox,
        topic: &str,
        offset: Offset,
        envelope: Envelope,
    ) -> bool {
        if let Some(floor) = self.floors.get_mut(topic) {
            *floor = Some(floor.map_or(offset, |floor| floor.max(offset)));
        }
        if envelope.origin() == inbox.instance() && !self.given_up.is_empty() {
            let bytes = envelope.encode();
            if let Some(at) = self.given_up.iter().position(|given| *given == bytes) {
                self.given_up.swap_remove(at);
                return true;
            }
        }
        inbox.deliver_at(topic, offset, envelope)
    }

    /// An append that may or may not have reached Redis: delivered here now.
    fn give_up(&mut self, inbox: &Inbox, topic: &str, envelope: Envelope) {
        self.given_up.push(envelope.encode());
        inbox.undelivered(topic, envelope);
    }
}

/// Serves a command without Redis: a publish reaches this instance only (counted), a resume is
/// told of a gap, subscription changes wait for the next link, which reads them from the hub.
pub(super) fn serve_locally(command: Command, inbound: &Inbound, inbox: &Inbox) {
    match command {
        Command::Publish { .. } => inbound.stats().unsent_add(1),
        Command::Append {
            topic, envelope, ..
        } => {
            inbound.stats().unsent_add(1);
            inbox.undelivered(&topic, envelope);
        }
        Command::Replay(replay) => replay.fail(),
        Command::Subscriptions => drop(inbound.subscriptions()),
        Command::Presence(change) => unsent_presence(inbound, *change),
        Command::PresenceQuery(query) => query.fail(),
        Command::Flush(done) => drop(done.send(())),
    }
}

/// A join or leave that did not reach Redis: a leave waits for the link, a join for the next
/// refresh (which adds every member here that Redis lacks).
fn unsent_presence(inbound: &Inbound, change: PresenceChange) {
    if change.change() == Change::Leave {
        inbound.leaves().push(change);
    }
}

/// `future`, or an error once `timeout` has passed.
async fn timed<T>(
    timeout: Duration,
    what: &str,
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {timeout:?}")),
    }
}

pub(super) struct Link {
    sink: PubSubSink,
    stream: PubSubStream,
    publisher: MultiplexedConnection,
    append: redis::Script,
    presence: Scripts,
}

impl Link {
    /// Opens both connections and loads the append script.
    pub(super) async fn connect(
        client: &redis::Client,
        config: &RedisConfig,
    ) -> Result<Link, String> {
        let timeout = config.command_timeout;
        let pubsub = timed(timeout, "connect", client.get_async_pubsub()).await?;
        // redis-rs's own bound on each answer, beside ours: a resume's read may take longer.
        let answers = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout.max(config.replay_timeout)));
        let publisher = timed(
            timeout,
            "connect",
            client.get_multiplexed_async_connection_with_config(&answers),
        )
        .await?;
        let (sink, stream) = pubsub.split();
        let mut link = Link {
            sink,
            stream,
            publisher,
            append: append_script(),
            presence: Scripts::new(),
        };
        let invocation = link.append.prepare_invoke();
        let load = invocation.load_async(&mut link.publisher);
        timed(timeout, "load the append script", load).await?;
        let load = link.presence.load(&mut link.publisher);
        timed(timeout, "load the presence scripts", load).await?;
        Ok(link)
    }

    /// Subscribes to every topic this instance has subscribers for, and catches up on retained
    /// ones: what their streams got after the last message delivered here is delivered now,
    /// before anything received live, so live subscribers miss nothing of a retained topic
    /// across the outage and get nothing twice.
    pub(super) async fn open(
        &mut self,
        config: &RedisConfig,
        inbound: &Inbound,
        inbox: &Inbox,
        memory: &mut Memory,
    ) -> Result<usize, String> {
        drop(inbound.subscriptions()); // the hub's topics are the truth
        let topics = inbox.topics();
        let channels: Vec<String> = topics.iter().map(|t| config.channel(t)).collect();
        for chunk in channels.chunks(SUBSCRIBE_CHUNK) {
            timed(
                config.command_timeout,
                "subscribe",
                self.sink.subscribe(chunk),
            )
            .await?;
        }
        let here: HashSet<&String> = topics.iter().collect();
        memory
            .floors
            .retain(|topic, _| here.contains(topic) && inbox.is_retained(topic));
        for topic in topics.iter().filter(|topic| inbox.is_retained(topic)) {
            match memory.floors.get(topic).copied() {
                Some(floor) => {
                    self.catch_up(config, inbound, inbox, memory, topic, floor)
                        .await?
                }
                None => self.mark(config, memory, topic).await?,
            }
        }
        self.write_leaves(config, inbound).await?;
        self.beat(config, inbox).await?;
        Ok(topics.len())
    }

    /// Writes the leaves that waited for Redis, publishing each (the other instances may still
    /// show the member, even if Redis lost it).
    async fn write_leaves(
        &mut self,
        config: &RedisConfig,
        inbound: &Inbound,
    ) -> Result<(), String> {
        let leaves = inbound.leaves().take();
        if leaves.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for leave in &leaves {
            self.presence.change(&mut pipe, config, leave, true);
        }
        let sent = timed(
            config.command_timeout,
            "write the leaves made during an outage",
            pipe.query_async::<()>(&mut self.publisher),
        )
        .await;
        if sent.is_err() {
            inbound.leaves().put_back(leaves);
        }
        sent
    }

    /// Refreshes this instance's members in Redis (adding, with their joins, those it lacks) and
    /// sweeps the expired members of the topics it has members of, publishing their leaves.
    async fn beat(&mut self, config: &RedisConfig, inbox: &Inbox) -> Result<(), String> {
        let here = inbox.presence_here();
        // A refresh names every member here: with many, it may take longer than one command.
        let timeout = config.command_timeout.max(config.presence_beat());
        let swept = timed(
            timeout,
            "refresh presence",
            self.presence
                .beat(&mut self.publisher, config, inbox.instance(), &here),
        )
        .await?;
        timed(
            config.command_timeout,
            "publish the leaves of expired members",
            presence::publish_swept(&mut self.publisher, config, &swept),
        )
        .await
    }

    /// Delivers what a retained topic's stream holds after `floor`, page by page.
    async fn catch_up(
        &mut self,
        config: &RedisConfig,
        inbound: &Inbound,
        inbox: &Inbox,
        memory: &mut Memory,
        topic: &str,
        mut floor: Option<Offset>,
    ) -> Result<(), String> {
        let key = config.channel(topic);
        loop {
            let page = timed(
                config.command_timeout,
                "catch up on a retained topic",
                page_after(&mut self.publisher, &key, floor),
            )
            .await?;
            let short = page.len() < streams::REPLAY_LIMIT;
            inbound.stats().caught_up_add(page.len() as u64);
            for (offset, envelope) in page {
                floor = Some(offset);
                memory.deliver_at(inbox, topic, offset, envelope);
            }
            if short {
                return Ok(());
            }
        }
    }

    /// Notes where a retained topic newly received here starts: what its stream holds now was
    /// published before its subscribers came.
    async fn mark(
        &mut self,
        config: &RedisConfig,
        memory: &mut Memory,
        topic: &str,
    ) -> Result<(), String> {
        let key = config.channel(topic);
        let newest = timed(
            config.command_timeout,
            "read a retained topic's newest id",
            streams::newest(&mut self.publisher, &key),
        )
        .await?;
        let floor = memory.floors.entry(topic.to_owned()).or_insert(newest);
        *floor = (*floor).max(newest);
        Ok(())
    }

    /// Carries commands to Redis and delivers what it sends, until the link is lost or the hub
    /// is gone.
    pub(super) async fn run(
        mut self,
        config: &RedisConfig,
        inbound: &mut Inbound,
        inbox: &Inbox,
        memory: &mut Memory,
        refused: &mut Refusals,
    ) -> Ended {
        let mut health = tokio::time::interval(HEALTH_INTERVAL);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // `open` beat just now: the first tick is a beat later.
        let beat = config.presence_beat();
        let mut presence = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A command taken while batching, to run next.
        let mut deferred: Option<Command> = None;
        loop {
            let command = match deferred.take() {
                Some(command) => command,
                None => tokio::select! {
                    command = inbound.recv() => match command {
                        Some(command) => command,
                        None => return Ended::HubGone,
                    },
                    message = self.stream.next() => match message {
                        Some(message) => {
                            if !self.received(config, inbox, memory, &message) {
                                return Ended::HubGone;
                            }
                            continue;
                        }
                        None => return Ended::Lost("the subscription connection closed".to_owned()),
                    },
                    _ = health.tick() => {
                        refused.report(inbound, config);
                        if let Err(e) = self.check(config).await {
                            return Ended::Lost(e);
                        }
                        continue;
                    }
                    _ = presence.tick() => {
                        let beat = async {
                            self.write_leaves(config, inbound).await?;
                            self.beat(config, inbox).await
                        };
                        if let Err(e) = beat.await {
                            return Ended::Lost(e);
                        }
                        continue;
                    }
                },
            };
            let outcome = match command {
                Command::Subscriptions => self.subscriptions(config, inbound, inbox, memory).await,
                Command::Replay(replay) => {
                    self.replay(config, replay);
                    Ok(())
                }
                Command::PresenceQuery(query) => {
                    self.presence_query(config, query);
                    Ok(())
                }
                Command::Flush(done) => {
                    let _ = done.send(()); // what came before it was sent, awaited, in order
                    Ok(())
                }
                first @ (Command::Publish { .. }
                | Command::Append { .. }
                | Command::Presence(_)) => {
                    let batch = gather(first, inbound, &mut deferred);
                    self.send(config, inbound, inbox, memory, batch).await
                }
            };
            if let Err(e) = outcome {
                if let Some(command) = deferred.take() {
                    serve_locally(command, inbound, inbox);
                }
                return Ended::Lost(e);
            }
        }
    }

    /// A channel message: delivered to this instance's subscribers. Returns whether the hub is
    /// still alive.
    fn received(
        &self,
        config: &RedisConfig,
        inbox: &Inbox,
        memory: &mut Memory,
        message: &redis::Msg,
    ) -> bool {
        let Some(topic) = message
            .get_channel_name()
            .strip_prefix(&config.channel_prefix)
        else {
            return true;
        };
        match decode(message.get_payload_bytes()) {
            Some((Some(offset), envelope)) => memory.deliver_at(inbox, topic, offset, envelope),
            Some((None, envelope)) => inbox.deliver(topic, envelope),
            None => {
                tracing::debug!(%topic, "nitrous: ignored a message that is not nitrous's on a broker channel");
                true
            }
        }
    }

    /// Makes the subscription changes the hub asked for.
    async fn subscriptions(
        &mut self,
        config: &RedisConfig,
        inbound: &Inbound,
        inbox: &Inbox,
        memory: &mut Memory,
    ) -> Result<(), String> {
        for (topic, on) in inbound.subscriptions() {
            let channel = config.channel(&topic);
            if on {
                timed(
                    config.command_timeout,
                    "subscribe",
                    self.sink.subscribe(&channel),
                )
                .await?;
                if inbox.is_retained(&topic) {
                    self.mark(config, memory, &topic).await?;
                }
            } else {
                memory.floors.remove(&topic);
                timed(
                    config.command_timeout,
                    "unsubscribe",
                    self.sink.unsubscribe(&channel),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Reads a stream for a resume, in a task of its own on a clone of the connection: a slow
    /// read must not hold up delivery. It starts after any subscription asked for before it, so
    /// nothing published in between is missed.
    fn replay(&self, config: &RedisConfig, replay: crate::broker::Replay) {
        let key = config.channel(replay.topic());
        let connection = self.publisher.clone();
        let timeout = config.replay_timeout;
        tokio::spawn(async move {
            let read = read_history(connection, &key, replay.after(), replay.limit());
            match tokio::time::timeout(timeout, read).await {
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

    /// Answers who is on a topic, in a task of its own on a clone of the connection (as a resume's
    /// read), within the command timeout.
    fn presence_query(&self, config: &RedisConfig, query: PresenceQuery) {
        let connection = self.publisher.clone();
        let config = config.clone();
        let (topic, ask) = (query.topic().to_owned(), query.ask().clone());
        tokio::spawn(async move {
            let read = presence::answer(connection, &config, &topic, &ask);
            match tokio::time::timeout(config.command_timeout, read).await {
                Ok(Ok(answer)) => query.answer(answer),
                Ok(Err(e)) => {
                    tracing::debug!(topic = %query.topic(), "nitrous: cannot read presence from Redis ({e}); answering from this instance");
                    query.fail();
                }
                Err(_) => query.fail(),
            }
        });
    }

    /// Sends a batch in one round trip. If it fails or times out, whether it reached Redis is
    /// unknown: it is counted, its appends are delivered here, and the link is lost.
    async fn send(
        &mut self,
        config: &RedisConfig,
        inbound: &Inbound,
        inbox: &Inbox,
        memory: &mut Memory,
        batch: Vec<Command>,
    ) -> Result<(), String> {
        let ttl = config.stream_ttl.map_or(0, |ttl| ttl.as_millis() as u64);
        let mut pipe = redis::pipe();
        for command in &batch {
            match command {
                Command::Publish { topic, bytes } => {
                    pipe.cmd("PUBLISH")
                        .arg(config.channel(topic))
                        .arg(bytes)
                        .ignore();
                }
                Command::Append {
                    topic,
                    envelope,
                    capacity,
                } => {
                    pipe.cmd("EVALSHA")
                        .arg(self.append.get_hash())
                        .arg(1)
                        .arg(config.channel(topic))
                        .arg((*capacity).max(1))
                        .arg(envelope.encode())
                        .arg(ttl)
                        .ignore();
                }
                Command::Presence(change) => {
                    self.presence.change(&mut pipe, config, change, false);
                }
                Command::Replay(_)
                | Command::PresenceQuery(_)
                | Command::Flush(_)
                | Command::Subscriptions => {}
            }
        }
        let sent = timed(
            config.command_timeout,
            "publish",
            pipe.query_async::<()>(&mut self.publisher),
        )
        .await;
        let Err(e) = sent else {
            return Ok(());
        };
        inbound.stats().unsent_add(batch.len() as u64);
        memory.given_up.clear(); // only the last batch can still be in Redis's hands
        for command in batch {
            match command {
                Command::Append {
                    topic, envelope, ..
                } => memory.give_up(inbox, &topic, envelope),
                Command::Presence(change) => unsent_presence(inbound, *change),
                _ => {}
            }
        }
        Err(e)
    }

    /// Whether both connections still answer.
    async fn check(&mut self, config: &RedisConfig) -> Result<(), String> {
        let timeout = config.command_timeout;
        timed(timeout, "health check", self.sink.ping::<redis::Value>()).await?;
        timed(
            timeout,
            "health check",
            redis::cmd("PING").query_async::<redis::Value>(&mut self.publisher),
        )
        .await?;
        Ok(())
    }
}

/// `first` and what else is queued to go out, in order, up to a batch's bounds; a command of
/// another kind met on the way is left in `deferred`.
fn gather(first: Command, inbound: &mut Inbound, deferred: &mut Option<Command>) -> Vec<Command> {
    let mut bytes = first.message_len();
    let mut batch = vec![first];
    while batch.len() < SEND_BATCH && bytes < SEND_BATCH_BYTES {
        match inbound.try_recv() {
            Some(
                next @ (Command::Publish { .. } | Command::Append { .. } | Command::Presence(_)),
            ) => {
                bytes += next.message_len();
                batch.push(next);
            }
            Some(other) => {
                *deferred = Some(other);
                break;
            }
            None => break,
        }
    }
    batch
}

/// Logs messages the full queue refused: at most once per health check, and when a link ends.
#[derive(Default)]
pub(super) struct Refusals {
    reported: u64,
}

impl Refusals {
    pub(super) fn report(&mut self, inbound: &Inbound, config: &RedisConfig) {
        let refused = inbound.stats().refused();
        if refused > self.reported {
            tracing::warn!(
                url = %config.url,
                refused = refused - self.reported,
                queue_limit = config.queue_limit,
                "nitrous: Redis is slow: messages that did not fit the broker's queue reached this instance only"
            );
            self.reported = refused;
        }
    }
}
