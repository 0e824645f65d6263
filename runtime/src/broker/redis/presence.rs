//! Presence across instances in Redis: per tracked topic a hash of its members (id -> info) and a
//! sorted set of when each expires, kept by scripts that also publish the joins and leaves they
//! make on the topic's channel, so each event is published once, in order with the topic's
//! messages from this instance.
//!
//! Every instance refreshes its own members each beat ([`RedisConfig::presence_ttl`] / 3): a
//! member missing from Redis (a restart lost it, or it expired while this instance was cut off)
//! is added again and its join published. Each beat also sweeps the topics it has members of:
//! members whose expiry passed (their instance stopped refreshing: it crashed, or lost Redis) are
//! removed and their leaves published. So a member of an instance killed with `kill -9` leaves
//! everywhere within `presence_ttl` and one beat (40 s by default), plus a command timeout if
//! Redis is slow. Both keys expire after twice the TTL without a refresh, so a topic whose
//! instances all stopped leaves nothing behind.
//!
//! Leaves this instance could not write (Redis down, or the queue full) wait, at most
//! [`MAX_PENDING_LEAVES`] of them, and are written first thing when the link is back, their events
//! published whether or not Redis still held the member (it may have lost it, and the other
//! instances' pages still show it). Joins need no such list: the next beat adds what is missing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;

use super::RedisConfig;
use crate::broker::{Envelope, MembersHere, PresenceAnswer, PresenceAsk, PresenceChange};
use crate::payload::Payload;
use crate::presence::{Change, Member, PRESENCE_EVENT, event_json};

/// How many leaves wait for Redis at most; past it the oldest are forgotten (Redis drops those
/// members when they expire, and publishes their leaves then if it still held them).
pub const MAX_PENDING_LEAVES: usize = 10_000;

/// How many members one refresh script names, and how many expired ones one sweep takes.
const CHUNK: usize = 256;
const SWEEP_LIMIT: usize = 1000;

/// Adds (or refreshes) members: KEYS[1] the members hash, KEYS[2] the expiry set; ARGV[1] the
/// channel, ARGV[2] the TTL in ms, then (member, info, join envelope) for each. A member the hash
/// did not hold has its join published. Times are Redis's own clock, the same for every
/// instance.
const REFRESH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local joined = 0
for i = 3, #ARGV, 3 do
  if redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('PUBLISH', ARGV[1], ARGV[i + 2])
    joined = joined + 1
  end
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return joined
";

/// Removes a member: KEYS as [`REFRESH`]; ARGV[1] the channel, ARGV[2] the member, ARGV[3] the
/// leave envelope, ARGV[4] `1` to publish it even if the hash no longer held the member.
const LEAVE: &str = r"
local gone = redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if gone == 1 or ARGV[4] == '1' then redis.call('PUBLISH', ARGV[1], ARGV[3]) end
return gone
";

/// Removes up to ARGV[1] members whose expiry passed; KEYS as [`REFRESH`]. Returns them as
/// (member, info) pairs, flat: whoever removed a member publishes its leave, so it is published
/// once.
const SWEEP: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, member in ipairs(expired) do
  local info = redis.call('HGET', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[1], member)
  out[#out + 1] = member
  out[#out + 1] = info or 'null'
end
return out
";

/// The presence scripts, sent by their SHA1 (loaded once per connection).
pub(super) struct Scripts {
    refresh: redis::Script,
    leave: redis::Script,
    sweep: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            refresh: redis::Script::new(REFRESH),
            leave: redis::Script::new(LEAVE),
            sweep: redis::Script::new(SWEEP),
        }
    }

    /// Loads them on `connection`.
    pub(super) async fn load(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> redis::RedisResult<()> {
        for script in [&self.refresh, &self.leave, &self.sweep] {
            script.prepare_invoke().load_async(connection).await?;
        }
        Ok(())
    }

    /// Adds a change made here to `pipe`: a join refreshes its member (and publishes the join),
    /// a leave removes it (and publishes the leave if Redis held it, or if `always`).
    pub(super) fn change(
        &self,
        pipe: &mut redis::Pipeline,
        config: &RedisConfig,
        change: &PresenceChange,
        always: bool,
    ) {
        let keys = Keys::of(config, change.topic());
        match change.change() {
            Change::Join => {
                pipe.cmd("EVALSHA")
                    .arg(self.refresh.get_hash())
                    .arg(2)
                    .arg(&keys.members)
                    .arg(&keys.expiry)
                    .arg(&keys.channel)
                    .arg(ttl_ms(config))
                    .arg(change.member())
                    .arg(change.info())
                    .arg(change.envelope().encode())
                    .ignore();
            }
            Change::Leave => {
                pipe.cmd("EVALSHA")
                    .arg(self.leave.get_hash())
                    .arg(2)
                    .arg(&keys.members)
                    .arg(&keys.expiry)
                    .arg(&keys.channel)
                    .arg(change.member())
                    .arg(change.envelope().encode())
                    .arg(if always { "1" } else { "0" })
                    .ignore();
            }
        }
    }

    /// Refreshes every member here (`here`: topic, members as (id, info)), publishing the joins
    /// of those Redis did not hold, and sweeps each of those topics. Returns, per topic, the
    /// members the sweep removed (id, info), whose leaves are this instance's to publish.
    pub(super) async fn beat(
        &self,
        connection: &mut MultiplexedConnection,
        config: &RedisConfig,
        instance: u128,
        here: &[MembersHere],
    ) -> redis::RedisResult<Vec<(String, Vec<(String, String)>)>> {
        if here.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for MembersHere { topic, members } in here {
            let keys = Keys::of(config, topic);
            for chunk in members.chunks(CHUNK) {
                let call = pipe
                    .cmd("EVALSHA")
                    .arg(self.refresh.get_hash())
                    .arg(2)
                    .arg(&keys.members)
                    .arg(&keys.expiry)
                    .arg(&keys.channel)
                    .arg(ttl_ms(config));
                for (member, info) in chunk {
                    let join = envelope(instance, Change::Join, topic, member, info);
                    call.arg(member).arg(&**info).arg(join.encode());
                }
                call.ignore();
            }
        }
        for MembersHere { topic, .. } in here {
            let keys = Keys::of(config, topic);
            pipe.cmd("EVALSHA")
                .arg(self.sweep.get_hash())
                .arg(2)
                .arg(&keys.members)
                .arg(&keys.expiry)
                .arg(SWEEP_LIMIT);
        }
        let swept: Vec<Vec<String>> = pipe.query_async(connection).await?;
        Ok(here
            .iter()
            .zip(swept)
            .filter(|(_, flat)| !flat.is_empty())
            .map(|(MembersHere { topic, .. }, flat)| {
                let pairs = flat
                    .chunks(2)
                    .filter_map(|pair| match pair {
                        [member, info] => Some((member.clone(), info.clone())),
                        _ => None,
                    })
                    .collect();
                (topic.clone(), pairs)
            })
            .collect())
    }
}

/// Publishes the leaves of members a sweep removed, from no instance in particular (origin 0),
/// so every instance delivers them, this one included.
pub(super) async fn publish_swept(
    connection: &mut MultiplexedConnection,
    config: &RedisConfig,
    swept: &[(String, Vec<(String, String)>)],
) -> redis::RedisResult<()> {
    if swept.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for (topic, members) in swept {
        let channel = config.channel(topic);
        for (member, info) in members {
            let leave = envelope(0, Change::Leave, topic, member, info);
            pipe.cmd("PUBLISH")
                .arg(&channel)
                .arg(leave.encode())
                .ignore();
        }
    }
    pipe.query_async::<()>(connection).await
}

/// Answers a query from the hash: its length for a count (no member read), `HSCAN` for a page.
pub(super) async fn answer(
    mut connection: MultiplexedConnection,
    config: &RedisConfig,
    topic: &str,
    ask: &PresenceAsk,
) -> redis::RedisResult<PresenceAnswer> {
    let keys = Keys::of(config, topic);
    match ask {
        PresenceAsk::Count => {
            let count: usize = redis::cmd("HLEN")
                .arg(&keys.members)
                .query_async(&mut connection)
                .await?;
            Ok(PresenceAnswer::Count(count))
        }
        PresenceAsk::Page(page) => {
            let cursor = page.cursor().unwrap_or("0");
            let (next, flat): (String, Vec<String>) = redis::cmd("HSCAN")
                .arg(&keys.members)
                .arg(cursor)
                .arg("COUNT")
                .arg(page.limit())
                .query_async(&mut connection)
                .await?;
            let members = flat
                .chunks(2)
                .filter_map(|pair| match pair {
                    [id, info] => Some(Member {
                        id: id.clone(),
                        info: serde_json::from_str(info).unwrap_or_default(),
                    }),
                    _ => None,
                })
                .collect();
            let next = (next != "0").then_some(next);
            Ok(PresenceAnswer::Page(members, next))
        }
    }
}

/// A presence message's envelope.
fn envelope(origin: u128, change: Change, topic: &str, member: &str, info: &str) -> Envelope {
    let json = event_json(change, topic, member, info);
    Envelope::new(origin, Payload::text(json), Some(Arc::from(PRESENCE_EVENT)))
}

fn ttl_ms(config: &RedisConfig) -> u64 {
    config.presence_ttl.as_millis().max(1) as u64
}

/// A tracked topic's keys, and its channel.
struct Keys {
    members: String,
    expiry: String,
    channel: String,
}

impl Keys {
    /// `{prefix}\x1emembers:{topic}` and `{prefix}\x1eexpiry:{topic}`: the record separator keeps
    /// them apart from every channel and stream name a topic can have.
    fn of(config: &RedisConfig, topic: &str) -> Keys {
        let prefix = &config.channel_prefix;
        Keys {
            members: format!("{prefix}\u{1e}members:{topic}"),
            expiry: format!("{prefix}\u{1e}expiry:{topic}"),
            channel: config.channel(topic),
        }
    }
}

/// Leaves that could not reach Redis yet, oldest first, bounded by [`MAX_PENDING_LEAVES`]:
/// shared by the broker (a leave the full queue refused) and its task (one it could not send).
#[derive(Clone, Default)]
pub(super) struct PendingLeaves {
    leaves: Arc<Mutex<VecDeque<PresenceChange>>>,
}

impl PendingLeaves {
    pub(super) fn push(&self, leave: PresenceChange) {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        if leaves.len() >= MAX_PENDING_LEAVES {
            leaves.pop_front();
        }
        leaves.push_back(leave);
    }

    pub(super) fn take(&self) -> Vec<PresenceChange> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        leaves.drain(..).collect()
    }

    /// Gives back leaves that could not be sent after all, before any queued since.
    pub(super) fn put_back(&self, back: Vec<PresenceChange>) {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        for leave in back.into_iter().rev() {
            if leaves.len() >= MAX_PENDING_LEAVES {
                break;
            }
            leaves.push_front(leave);
        }
    }
}
