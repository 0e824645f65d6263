//! Retained topics' shared history: the Redis Stream each one has, how a message is appended to
//! it and announced on the topic's channel, and the reads a resume or a reconnect makes.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply};

use crate::broker::{Backlog, Envelope};
use crate::offset::Offset;

/// The most messages one read takes from a stream: a resume reads at most this many (the
/// newest, when there are more; the subscriber's own budget may keep fewer), a catch-up after a
/// reconnect reads in pages of this many.
pub const REPLAY_LIMIT: usize = 10_000;

/// Appends a message to a retained topic's stream and publishes it, with its id, on the topic's
/// channel, in one step: every instance receives a topic's messages in the stream's order.
/// KEYS[1] is the stream (and the channel); ARGV: capacity, the envelope, the expiry in ms.
/// Sent by its SHA1 (`EVALSHA`), loaded once per connection.
pub(super) fn append_script() -> redis::Script {
    redis::Script::new(
        r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', KEYS[1], id .. '\n' .. ARGV[2])
return id
",
    )
}

/// A channel message: a retained topic's is `{stream id}\n{envelope}`, a plain topic's the
/// envelope alone (which starts with its version byte, never an ASCII digit).
pub(super) fn decode(bytes: &[u8]) -> Option<(Option<Offset>, Envelope)> {
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
pub(super) async fn read_history(
    mut connection: MultiplexedConnection,
    key: &str,
    after: Option<Offset>,
    limit: usize,
) -> redis::RedisResult<Backlog> {
    let count = limit.clamp(1, REPLAY_LIMIT);
    let start = after.map_or_else(|| "-".to_owned(), |after| format!("({after}"));
    let newest: StreamRangeReply = connection.xrevrange_count(key, "+", &start, count).await?;
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

/// What a stream holds after `after` (from its start when `None`), oldest first, a page of at
/// most [`REPLAY_LIMIT`]: a reconnect's catch-up reads pages until one is short.
pub(super) async fn page_after(
    connection: &mut MultiplexedConnection,
    key: &str,
    after: Option<Offset>,
) -> redis::RedisResult<Vec<(Offset, Envelope)>> {
    let start = after.map_or_else(|| "-".to_owned(), |after| format!("({after}"));
    let page: StreamRangeReply = connection
        .xrange_count(key, &start, "+", REPLAY_LIMIT)
        .await?;
    Ok(entries(page))
}

/// The id of a stream's newest message (`None`: the stream is empty or does not exist).
pub(super) async fn newest(
    connection: &mut MultiplexedConnection,
    key: &str,
) -> redis::RedisResult<Option<Offset>> {
    let reply: StreamRangeReply = connection.xrevrange_count(key, "+", "-", 1).await?;
    Ok(reply.ids.first().and_then(|id| Offset::parse(&id.id)))
}

/// The offset of the first entry at or after `start` (`-` for the oldest, `(id` for after `id`).
async fn first(
    connection: &mut MultiplexedConnection,
    key: &str,
    start: &str,
) -> redis::RedisResult<Option<Offset>> {
    let reply: StreamRangeReply = connection.xrange_count(key, start, "+", 1).await?;
    Ok(reply.ids.first().and_then(|id| Offset::parse(&id.id)))
}

/// The entries of a range reply, as nitrous wrote them (field `m`); others are skipped.
fn entries(reply: StreamRangeReply) -> Vec<(Offset, Envelope)> {
    reply.ids.iter().filter_map(entry).collect()
}

fn entry(id: &StreamId) -> Option<(Offset, Envelope)> {
    let bytes: Vec<u8> = id.get("m")?;
    Some((Offset::parse(&id.id)?, Envelope::decode(&bytes)?))
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
