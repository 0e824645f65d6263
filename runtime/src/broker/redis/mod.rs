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
//! **During an outage** (Redis unreachable at start, lost later, or connected but not answering
//! within [`RedisConfig::command_timeout`]) local delivery goes on: plain topics unchanged,
//! retained ones without an offset (they are not in the shared history). Messages published here
//! while the connection is down do not reach the other instances and are not replayed later; a
//! resume that needs the stream gets the gap signal once the read fails or times out. The
//! instance reconnects with backoff (0.1 s doubling to 5 s), resubscribes its topics, and logs the
//! outage and the recovery once each, with the number of messages that reached this instance
//! only; the stream ids go on from where they were, so no offset is reused.
//!
//! **After a reconnect**, each retained topic with subscribers here goes on from the last message
//! this instance delivered: what the other instances appended to its stream meanwhile is
//! delivered first, in order, then what arrives live, each message once. Plain topics stay
//! at-most-once: what was published on them while the connection was down is gone.
//!
//! **Memory stays bounded** when Redis is slow: what waits for Redis is at most
//! [`RedisConfig::queue_limit`] bytes (32 MiB by default) plus the batch in flight (at most
//! 1 MiB). A publish that does not fit reaches this instance's subscribers only; the broker
//! counts such messages ([`RedisBroker::stats`]) and logs them, at most once a second.
//!
//! **Presence** ([`Hub::track_presence`](crate::Hub::track_presence)) is shared through Redis:
//! each tracked topic has a hash of its members (`{channel_prefix}\x1emembers:{topic}`, member id
//! -> info) and a sorted set of when each expires (`…\x1eexpiry:{topic}`), kept by scripts that
//! publish the joins and leaves they make on the topic's channel, in order with this instance's
//! messages on it. Each instance refreshes its members every third of
//! [`RedisConfig::presence_ttl`] (30 s by default), and sweeps the topics it has members of: the
//! members of an instance that was killed leave everywhere, with leave events, within
//! `presence_ttl + presence_ttl / 3` (40 s by default; plus a command timeout if Redis is slow);
//! one that stops gracefully sends its members' leaves at once if the app awaits
//! [`Hub::flush`](crate::Hub::flush) after `serve` returns.
//! A count is `HLEN` (no member is read), a page `HSCAN`. During an outage presence works on
//! this instance (its answers say so: [`Members::everywhere`](crate::presence::Members) is
//! `false`); when the link is back, the leaves made meanwhile are written and published (at most
//! [`MAX_PENDING_LEAVES`] of them), and the next refresh adds every member Redis lacks (all of
//! them after a Redis restart) and publishes their joins. Redis holds about a hundred bytes
//! and the info per member (see BENCHMARKS.md), and nothing for a topic nobody refreshes
//! for twice the TTL.
//!
//! **`rediss://`** URLs (TLS, as managed Redis services require) need the `redis-tls` feature.

mod config;
mod link;
mod outbox;
mod presence;
mod streams;

use std::time::{Duration, Instant};

pub use config::{DEFAULT_PRESENCE_TTL, DEFAULT_QUEUE_LIMIT, MIN_PRESENCE_TTL, RedisConfig};
use link::{Ended, Link, Memory, Refusals, serve_locally};
pub use outbox::BrokerStats;
use outbox::{Command, Inbound, Outbox};
pub use presence::MAX_PENDING_LEAVES;
pub use streams::REPLAY_LIMIT;

use super::{Broker, Envelope, Inbox, PresenceChange, PresenceQuery, Replay};
use crate::presence::Change;

/// The Redis broker; install it with [`Hub::with_broker`](crate::Hub::with_broker).
pub struct RedisBroker {
    config: RedisConfig,
    outbox: Outbox,
    inbound: std::sync::Mutex<Option<Inbound>>,
    /// The hub's side, for a retained message the full queue refuses: delivered here only.
    inbox: std::sync::OnceLock<Inbox>,
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
        let (outbox, inbound) = outbox::outbox(config.queue_limit);
        RedisBroker {
            config,
            outbox,
            inbound: std::sync::Mutex::new(Some(inbound)),
            inbox: std::sync::OnceLock::new(),
        }
    }

    /// What the broker could not carry, counted: take it before installing the broker, for
    /// metrics or a health route.
    ///
    /// ```no_run
    /// use nitrous::broker::redis::{RedisBroker, RedisConfig};
    /// # async fn demo() {
    /// let broker = RedisBroker::new(RedisConfig::new("redis://127.0.0.1:6379"));
    /// let stats = broker.stats();
    /// let hub = nitrous::Hub::with_broker(broker);
    /// // later: stats.refused(), stats.unsent(), stats.queued_bytes()
    /// # let _ = (hub, stats);
    /// # }
    /// ```
    pub fn stats(&self) -> BrokerStats {
        self.outbox.stats().clone()
    }

    /// Queues `command`; one that does not fit is served here only.
    fn send(&self, command: Command) {
        if let Err(refused) = self.outbox.send(command) {
            match refused {
                Command::Append {
                    topic, envelope, ..
                } => {
                    if let Some(inbox) = self.inbox() {
                        inbox.undelivered(&topic, envelope);
                    }
                }
                Command::Replay(replay) => replay.fail(),
                // Written when the queue has room again; a join is added by the next refresh.
                Command::Presence(change) if change.change() == Change::Leave => {
                    self.outbox.leaves().push(*change)
                }
                Command::PresenceQuery(query) => query.fail(),
                Command::Flush(done) => drop(done.send(())),
                Command::Publish { .. } | Command::Presence(_) | Command::Subscriptions => {}
            }
        }
    }

    fn inbox(&self) -> Option<Inbox> {
        self.inbox.get().cloned()
    }
}

impl Broker for RedisBroker {
    fn start(&self, inbox: Inbox) {
        let Some(inbound) = self
            .inbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            tracing::error!("nitrous: a RedisBroker serves one hub; make one per hub");
            return;
        };
        let _ = self.inbox.set(inbox.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(run(self.config.clone(), inbound, inbox));
            }
            Err(_) => tracing::error!(
                "nitrous: Hub::with_broker(RedisBroker) must be called inside the tokio runtime; topics stay local"
            ),
        }
    }

    fn subscribe(&self, topic: &str) {
        self.outbox.subscription(topic, true);
    }

    fn unsubscribe(&self, topic: &str) {
        self.outbox.subscription(topic, false);
    }

    fn publish(&self, topic: &str, envelope: Envelope) {
        self.send(Command::Publish {
            topic: topic.to_owned(),
            bytes: envelope.encode(),
        });
    }

    fn keeps_history(&self) -> bool {
        true
    }

    fn append(&self, topic: &str, envelope: Envelope, capacity: usize) {
        self.send(Command::Append {
            topic: topic.to_owned(),
            envelope,
            capacity,
        });
    }

    fn replay(&self, replay: Replay) {
        // Dropped unanswered if the task is gone: the subscriber is told of a gap.
        self.send(Command::Replay(replay));
    }

    fn shares_presence(&self) -> bool {
        true
    }

    fn presence(&self, change: PresenceChange) {
        self.send(Command::Presence(Box::new(change)));
    }

    fn presence_query(&self, query: PresenceQuery) {
        // Dropped unanswered if the task is gone: the hub answers from this instance.
        self.send(Command::PresenceQuery(query));
    }

    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        // Behind everything queued before it; answered at once if the queue refuses it, and
        // dropped (which also ends the wait) if the task is gone.
        self.send(Command::Flush(done));
        Box::pin(async {
            let _ = flushed.await;
        })
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The broker's task: a link to Redis while there is one; without one, back off (serving what
/// the hub sends meanwhile here only) and connect again. Ends when the hub is gone.
async fn run(config: RedisConfig, mut inbound: Inbound, inbox: Inbox) {
    let client = match config.client() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(url = %config.url, "nitrous: cannot use this Redis URL ({e}); topics stay local");
            while let Some(command) = inbound.recv().await {
                serve_locally(command, &inbound, &inbox);
            }
            return;
        }
    };
    let mut memory = Memory::default();
    let mut outage = Outage::default();
    let mut refused = Refusals::default();
    let mut backoff = FIRST_BACKOFF;
    loop {
        // What the hub sends meanwhile waits in the queue (a resume right after start-up is
        // served from the stream): connecting takes at most `command_timeout`.
        let ended = match Link::connect(&client, &config).await {
            Ok(mut link) => match link.open(&config, &inbound, &inbox, &mut memory).await {
                Ok(topics) => {
                    outage.over(&config, &inbound, topics);
                    backoff = FIRST_BACKOFF;
                    link.run(&config, &mut inbound, &inbox, &mut memory, &mut refused)
                        .await
                }
                Err(e) => Ended::Lost(e),
            },
            Err(e) => Ended::Lost(e),
        };
        refused.report(&inbound, &config);
        match ended {
            Ended::HubGone => return,
            Ended::Lost(reason) => outage.begin(&config, &inbound, &reason),
        }
        if locally(&mut inbound, &inbox, tokio::time::sleep(backoff))
            .await
            .is_none()
        {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Runs `future` while serving the hub's commands here only; `None` if the hub goes first.
async fn locally<T>(
    inbound: &mut Inbound,
    inbox: &Inbox,
    future: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::pin!(future);
    loop {
        tokio::select! {
            done = &mut future => return Some(done),
            command = inbound.recv() => match command {
                Some(command) => serve_locally(command, inbound, inbox),
                None => return None,
            },
        }
    }
}

/// Logs an outage once when it begins and once when it ends.
#[derive(Default)]
struct Outage {
    /// When the link was lost (or first failed), and the unsent count then.
    since: Option<(Instant, u64)>,
    connected_before: bool,
}

impl Outage {
    fn begin(&mut self, config: &RedisConfig, inbound: &Inbound, reason: &str) {
        if self.since.is_none() {
            let lost = if self.connected_before {
                "lost the Redis broker"
            } else {
                "Redis broker unreachable"
            };
            tracing::warn!(url = %config.url, "nitrous: {lost} ({reason}); local delivery goes on; reconnecting with backoff");
            self.since = Some((Instant::now(), inbound.stats().unsent()));
        }
    }

    fn over(&mut self, config: &RedisConfig, inbound: &Inbound, topics: usize) {
        if self.since.is_some() {
            crate::telemetry::meters().redis_reconnects.increment(1);
        }
        match self.since.take() {
            Some((since, unsent)) => tracing::info!(
                url = %config.url,
                outage = ?since.elapsed(),
                reached_this_instance_only = inbound.stats().unsent() - unsent,
                topics,
                "nitrous: Redis broker reconnected; retained topics caught up from their streams, plain topics' messages published meanwhile are lost"
            ),
            None => tracing::info!(url = %config.url, "nitrous: Redis broker connected"),
        }
        self.connected_before = true;
    }
}
