//! What the hub hands the broker's task, bounded: publishes and appends wait in a queue of at
//! most [`RedisConfig::queue_limit`](super::RedisConfig::queue_limit) bytes, and one that does
//! not fit is refused at once (counted), so a stalled Redis cannot grow memory. Subscriptions are
//! not queued but recorded, one change per topic, so they are never refused and take no more room
//! than the topics themselves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::presence::PendingLeaves;
use crate::broker::{Envelope, PresenceChange, PresenceQuery, Replay};

/// Work for the broker's task.
pub(super) enum Command {
    /// A plain topic's message, as the bytes of its channel message.
    Publish { topic: String, bytes: Vec<u8> },
    /// A retained topic's message, for its stream.
    Append {
        topic: String,
        envelope: Envelope,
        capacity: usize,
    },
    /// A resume's read of a stream.
    Replay(Replay),
    /// A member of a tracked topic joined or left here.
    Presence(Box<PresenceChange>),
    /// Who is on a tracked topic.
    PresenceQuery(PresenceQuery),
    /// Everything queued before it has gone out (or was given up on): say so.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Subscriptions changed: [`Inbound::subscriptions`] has them.
    Subscriptions,
}

/// What a queued command costs beside its bytes (its allocations, the channel's slot).
const OVERHEAD: usize = 128;

impl Command {
    /// The message it carries, in bytes: what a batch is bounded by.
    pub(super) fn message_len(&self) -> usize {
        match self {
            Command::Publish { bytes, .. } => bytes.len(),
            Command::Append { envelope, .. } => envelope.payload().as_bytes().len(),
            Command::Presence(change) => change.envelope().payload().len() + change.info().len(),
            Command::Replay(_)
            | Command::PresenceQuery(_)
            | Command::Flush(_)
            | Command::Subscriptions => 0,
        }
    }

    /// What it takes of the queue.
    fn cost(&self) -> usize {
        let topic = match self {
            Command::Publish { topic, .. } | Command::Append { topic, .. } => topic.len(),
            Command::Replay(replay) => replay.topic().len(),
            Command::Presence(change) => change.topic().len() + change.member().len(),
            Command::PresenceQuery(query) => query.topic().len(),
            Command::Flush(_) | Command::Subscriptions => 0,
        };
        OVERHEAD + topic + self.message_len()
    }
}

/// What the broker has not carried, for logs and metrics: read it with
/// [`RedisBroker::stats`](super::RedisBroker::stats).
#[derive(Clone, Debug, Default)]
pub struct BrokerStats {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    refused: AtomicU64,
    unsent: AtomicU64,
    queued: AtomicUsize,
    caught_up: AtomicU64,
}

impl BrokerStats {
    /// Messages that did not fit the queue while Redis was slow: they reached this instance's
    /// subscribers only.
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::Relaxed)
    }

    /// Messages published while the connection was down, or in a batch that failed or timed out:
    /// they reached this instance's subscribers, and maybe not the other instances.
    pub fn unsent(&self) -> u64 {
        self.counts.unsent.load(Ordering::Relaxed)
    }

    /// Bytes waiting for Redis now.
    pub fn queued_bytes(&self) -> usize {
        self.counts.queued.load(Ordering::Relaxed)
    }

    /// Retained topics' messages this instance read from the streams after a reconnect: what
    /// its live subscribers would otherwise have missed.
    pub fn caught_up(&self) -> u64 {
        self.counts.caught_up.load(Ordering::Relaxed)
    }

    pub(super) fn unsent_add(&self, n: u64) {
        self.counts.unsent.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn caught_up_add(&self, n: u64) {
        self.counts.caught_up.fetch_add(n, Ordering::Relaxed);
    }
}

/// The hub's end: [`RedisBroker`](super::RedisBroker) holds it.
pub(super) struct Outbox {
    sender: mpsc::UnboundedSender<(Command, usize)>,
    limit: usize,
    stats: BrokerStats,
    changes: Arc<Mutex<Changes>>,
    leaves: PendingLeaves,
}

/// Subscription changes not yet made in Redis: the last word per topic.
#[derive(Default)]
struct Changes {
    pending: HashMap<String, bool>,
    /// A [`Command::Subscriptions`] is queued and will take them.
    announced: bool,
}

/// The task's end.
pub(super) struct Inbound {
    receiver: mpsc::UnboundedReceiver<(Command, usize)>,
    stats: BrokerStats,
    changes: Arc<Mutex<Changes>>,
    leaves: PendingLeaves,
}

/// A queue of at most `limit` bytes.
pub(super) fn outbox(limit: usize) -> (Outbox, Inbound) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let stats = BrokerStats::default();
    let changes = Arc::new(Mutex::new(Changes::default()));
    let leaves = PendingLeaves::default();
    (
        Outbox {
            sender,
            limit,
            stats: stats.clone(),
            changes: changes.clone(),
            leaves: leaves.clone(),
        },
        Inbound {
            receiver,
            stats,
            changes,
            leaves,
        },
    )
}

impl Outbox {
    /// Queues `command` if it fits; gives it back if not (or if the task is gone).
    pub(super) fn send(&self, command: Command) -> Result<(), Command> {
        let cost = command.cost();
        let queued = &self.stats.counts.queued;
        let before = queued.fetch_add(cost, Ordering::Relaxed);
        if before + cost > self.limit && before > 0 {
            queued.fetch_sub(cost, Ordering::Relaxed);
            self.stats.counts.refused.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::meters().redis_refused.increment(1);
            return Err(command);
        }
        self.sender
            .send((command, cost))
            .map(|()| {
                crate::telemetry::meters()
                    .redis_queue_bytes
                    .increment(cost as f64)
            })
            .map_err(|refused| {
                queued.fetch_sub(cost, Ordering::Relaxed);
                refused.0.0
            })
    }

    /// Records that `topic` should (or should no longer) be received.
    pub(super) fn subscription(&self, topic: &str, on: bool) {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        changes.pending.insert(topic.to_owned(), on);
        if !changes.announced {
            changes.announced = true;
            let _ = self.sender.send((Command::Subscriptions, 0));
        }
    }

    pub(super) fn stats(&self) -> &BrokerStats {
        &self.stats
    }

    /// Leaves that wait for Redis.
    pub(super) fn leaves(&self) -> &PendingLeaves {
        &self.leaves
    }
}

impl Inbound {
    /// The next command; `None` once the hub is gone.
    pub(super) async fn recv(&mut self) -> Option<Command> {
        let (command, cost) = self.receiver.recv().await?;
        Some(self.taken(command, cost))
    }

    /// The next command if one is queued.
    pub(super) fn try_recv(&mut self) -> Option<Command> {
        let (command, cost) = self.receiver.try_recv().ok()?;
        Some(self.taken(command, cost))
    }

    fn taken(&self, command: Command, cost: usize) -> Command {
        self.stats.counts.queued.fetch_sub(cost, Ordering::Relaxed);
        crate::telemetry::meters()
            .redis_queue_bytes
            .decrement(cost as f64);
        command
    }

    /// The subscription changes made since the last call, the last word per topic.
    pub(super) fn subscriptions(&self) -> HashMap<String, bool> {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        changes.announced = false;
        std::mem::take(&mut changes.pending)
    }

    pub(super) fn stats(&self) -> &BrokerStats {
        &self.stats
    }

    /// Leaves that wait for Redis.
    pub(super) fn leaves(&self) -> &PendingLeaves {
        &self.leaves
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn publish(bytes: usize) -> Command {
        Command::Publish {
            topic: "t".to_owned(),
            bytes: vec![0; bytes],
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_counts_until_the_task_takes_some() {
        let (outbox, mut inbound) = outbox(4 * 1024);
        let mut queued = 0;
        while outbox.send(publish(1000)).is_ok() {
            queued += 1;
        }
        assert_eq!(queued, 3, "1129 bytes each fit three times in 4 KiB");
        assert_eq!(outbox.stats().refused(), 1);
        assert!(outbox.stats().queued_bytes() <= 4 * 1024);
        assert!(inbound.recv().await.is_some());
        assert!(outbox.send(publish(1000)).is_ok(), "room again");
        // One message larger than the whole queue still goes when nothing waits.
        while inbound.try_recv().is_some() {}
        assert_eq!(outbox.stats().queued_bytes(), 0);
        assert!(outbox.send(publish(1 << 20)).is_ok());
    }

    #[tokio::test]
    async fn subscriptions_are_never_refused_and_keep_the_last_word_per_topic() {
        let (outbox, mut inbound) = outbox(0);
        assert!(outbox.send(publish(10)).is_ok()); // fills it
        assert!(outbox.send(publish(10)).is_err());
        outbox.subscription("a", true);
        outbox.subscription("b", true);
        outbox.subscription("a", false);
        assert!(matches!(
            inbound.recv().await,
            Some(Command::Publish { .. })
        ));
        assert!(matches!(inbound.recv().await, Some(Command::Subscriptions)));
        assert!(inbound.try_recv().is_none(), "announced once");
        let changes = inbound.subscriptions();
        assert_eq!(
            changes,
            HashMap::from([("a".into(), false), ("b".into(), true)])
        );
        outbox.subscription("c", true);
        assert!(matches!(inbound.try_recv(), Some(Command::Subscriptions)));
        let append = Command::Append {
            topic: "t".into(),
            envelope: Envelope::new(1, Payload::text("x"), None),
            capacity: 1,
        };
        assert!(outbox.send(append).is_ok());
    }
}
