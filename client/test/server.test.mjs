// The client against the real Rust server: the chat example (CHAT_BIN, built by
// `cargo xtask client`), its typed room at /ws/room (the retained topic `chat`, 100 kept), and a
// raw publisher on the seed's /ws/chat, which shares the room. The server is stopped and
// restarted under the client while the publisher runs, in one process and across two instances
// sharing the room through a real redis-server. Without CHAT_BIN these tests skip.
//
// The oracle: /ws/chat echoes every message to its sender, so the publisher knows which of its
// numbered messages each server took; the client must get those, once each, in order.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import WebSocket from 'ws';

import { channelRoute, connect } from '../dist/index.js';
import {
  before,
  Changes,
  CHAT_BIN,
  countingSocket,
  freePort,
  numbers,
  offset,
  poll,
  proxy,
  publisher,
  record,
  startChat,
  startRedis,
} from './server.mjs';

const room = channelRoute('/ws/room');

/** Reconnect soon: the tests wait on events, and a restart takes a few tens of ms. */
const FAST = { initial: 50, max: 200 };

// Each test skips (and says why) without the binary: `npm test` alone runs the rest.
const skip = CHAT_BIN
  ? false
  : 'CHAT_BIN is not set: these tests need the chat example (`cargo xtask client` builds it and sets CHAT_BIN)';

/** A channel client of the room at `port`, closed at the test's end, with its events recorded. */
function client(t, port, changes, options = {}) {
  const channel = connect(room, {}, { url: `ws://127.0.0.1:${port}`, WebSocket, backoff: FAST, ...options });
  t.after(() => channel.close());
  return { channel, seen: record(channel, changes) };
}

/** The statuses among `events`. */
const statuses = (events) => events.filter((e) => e.kind == 'status');

/** Each number is the one before plus one. */
const consecutive = (list) => list.every((n, i) => i == 0 || n == list[i - 1] + 1);

/** Offsets strictly increase along the topic frames. */
const increasing = (events) => {
  const offsets = events.filter((e) => e.kind == 'topic').map((e) => e.offset);
  return offsets.every((o, i) => i == 0 || before(offsets[i - 1], o));
};

describe('against the chat server', () => {
  test('one process restarted mid-stream: a gap (its history died), and otherwise every message once, in order', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const port = await freePort();
    let app = await startChat(t, port, { changes });
    const { channel, seen } = client(t, port, changes);
    await changes.until(() => channel.status == 'open', 'the client to open');
    const pub = await publisher(t, port, 'one', changes);
    pub.run();
    await changes.until(() => pub.echoed.length >= 30, 'the first process to take 30 messages');

    // Taken (echoed) before the Ctrl-C: published before the peers' close, so the client gets them.
    const takenBeforeStop = pub.echoed.map((e) => e.n);
    await app.stop();
    app = await startChat(t, port, { changes });
    await changes.until(() => pub.echoed.filter((e) => e.connection > 0).length >= 30, 'the new process to take 30 messages');
    await changes.until(() => channel.status == 'open', 'the client to reopen');
    await pub.stop();
    const last = pub.echoed.at(-1).n;
    await changes.until(() => numbers(seen, 'one').includes(last), () => `the client to get ${last}; it got ${numbers(seen, 'one')}`);

    const gaps = seen.filter((e) => e.kind == 'gap');
    assert.equal(gaps.length, 1, 'one gap');
    const at = seen.indexOf(gaps[0]);
    const [old, fresh] = [seen.slice(0, at), seen.slice(at + 1)];
    const [oldNumbers, freshNumbers] = [numbers(old, 'one'), numbers(fresh, 'one')];

    // The gap tells where the client was, in the old history, and where the new one starts.
    const lastOld = old.filter((e) => e.kind == 'topic').at(-1);
    assert.equal(gaps[0].topic, 'chat');
    assert.equal(gaps[0].after, lastOld.offset);
    // `resumed_at` is the first frame it gets after the gap, or null when the new history held
    // nothing for it yet (only its own join line) and it went on live.
    if (gaps[0].resumed_at !== null) {
      assert.equal(gaps[0].resumed_at, fresh.find((e) => e.kind == 'topic').offset, 'resumed at the first frame');
    }
    const majors = (events) => new Set(events.filter((e) => e.kind == 'topic').map((e) => offset(e.offset)[0]));
    assert.equal(majors(old).size, 1, 'the first process numbers in one history');
    assert.equal(majors(fresh).size, 1, 'the second process numbers in one history');
    assert.notDeepEqual([...majors(old)], [...majors(fresh)], 'two histories');
    assert.ok(increasing(old) && increasing(fresh), 'offsets increase');

    // Before the gap: everything from the first message to at least the last taken before the stop.
    assert.deepEqual(oldNumbers.slice(0, takenBeforeStop.length), takenBeforeStop);
    assert.ok(consecutive(oldNumbers), `once each, in order: ${oldNumbers}`);
    // After it: what the new process took, the newest, once, in order; all of it when its history
    // was still whole at the resume (it keeps 100: the client is back well before, unless the
    // machine is very slow).
    const takenFresh = pub.echoed.filter((e) => e.connection > 0).map((e) => e.n);
    assert.deepEqual(freshNumbers, takenFresh.slice(-freshNumbers.length));
    // Whole: it went on live (null: nothing was kept for it yet), or resumed at one of the first
    // two entries (its own join line and the publisher's come first, in either order).
    const whole = gaps[0].resumed_at === null || offset(gaps[0].resumed_at)[1] <= 2n;
    if (whole) assert.deepEqual(freshNumbers, takenFresh, 'all the new process took');
    else t.diagnostic(`the client resumed late: at ${gaps[0].resumed_at}`);
    assert.ok(oldNumbers.at(-1) < freshNumbers[0], 'the new process carries on after the old one');
    assert.deepEqual(
      statuses(seen).map((e) => [e.status, e.detail?.code]),
      [['open', undefined], ['reconnecting', 1001], ...statuses(seen).slice(2, -1).map(() => ['reconnecting', 1006]), ['open', undefined]],
      'open; 1001 on the Ctrl-C; refused connections until the restart; open',
    );
  });

  // docs/protocol.md: `resumed_at` is "the offset of the first message it gets now (`null` when
  // it gets only what is published from now on)". Here the new process's history holds only the
  // client's own join line (the room's `open` publishes it to the others just before it
  // subscribes), which the resume skips; the gap names it all the same.
  test('a gap\'s resumed_at is the first message the client gets, not its own join line it skips', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const port = await freePort();
    let app = await startChat(t, port, { changes });
    const { channel, seen } = client(t, port, changes);
    await changes.until(() => channel.status == 'open', 'the client to open');
    channel.send({ text: 'before' });
    await changes.until(() => seen.some((e) => e.kind == 'topic' && e.data.message == 'before'), 'its message back');
    await app.stop();
    app = await startChat(t, port, { changes });
    const gap = await changes.until(() => seen.find((e) => e.kind == 'gap'), 'the gap');
    channel.send({ text: 'after' });
    const next = await changes.until(() => seen.slice(seen.indexOf(gap)).find((e) => e.kind == 'topic'), 'the next frame');
    assert.equal(next.data.message, 'after', 'nothing of the new history comes to it before its own message');
    assert.ok(gap.resumed_at === null || gap.resumed_at === next.offset, `resumed_at ${gap.resumed_at}, the first frame it gets ${next.offset}`);
  });

  test('two instances through Redis: the client\'s instance restarts mid-stream; every message once, in order, no gap', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const redis = await startRedis(t);
    const env = { NITROUS_REDIS_URL: redis.url };
    const [portA, portB] = [await freePort(), await freePort()];
    let a = await startChat(t, portA, { env, changes });
    await startChat(t, portB, { env, changes });
    const { channel, seen } = client(t, portA, changes);
    await changes.until(() => channel.status == 'open', 'the client to open');
    const pub = await publisher(t, portB, 'two', changes);
    await poll(() => redis.subscribers('nitrous:chat') == 2, 'both instances to receive the room');
    pub.run();
    await changes.until(() => numbers(seen, 'two').length >= 30, 'the client to get 30 messages');

    await a.stop();
    const down = pub.echoed.length;
    await changes.until(() => pub.echoed.length >= down + 20, 'B to take 20 messages while A is down');
    a = await startChat(t, portA, { env, changes });
    await changes.until(() => channel.status == 'open', 'the client to reopen on the restarted A');
    const back = pub.echoed.length;
    await changes.until(() => pub.echoed.length >= back + 30, 'B to take 30 more');
    await pub.stop();
    const taken = pub.echoed.map((e) => e.n);
    await changes.until(() => numbers(seen, 'two').includes(taken.at(-1)), () => `the client to get ${taken.at(-1)}; it got ${numbers(seen, 'two')}`);

    assert.equal(pub.connections, 1, 'the publisher on B never reconnected');
    assert.deepEqual(seen.filter((e) => e.kind == 'gap'), [], 'no gap');
    assert.deepEqual(numbers(seen, 'two'), taken, 'every message B took, once, in order');
    assert.ok(increasing(seen), 'stream offsets increase');
    assert.deepEqual(statuses(seen)[1].detail.code, 1001);
  });

  test('two instances through Redis: back after more than the room keeps: a gap first, then what the stream keeps (the last 100 or a few more), in order', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const redis = await startRedis(t);
    const env = { NITROUS_REDIS_URL: redis.url };
    const [portA, portB] = [await freePort(), await freePort()];
    let a = await startChat(t, portA, { env, changes });
    await startChat(t, portB, { env, changes });
    const { channel, seen } = client(t, portA, changes);
    await changes.until(() => channel.status == 'open', 'the client to open');
    const pub = await publisher(t, portB, 'far', changes);
    await poll(() => redis.subscribers('nitrous:chat') == 2, 'both instances to receive the room');
    pub.run();
    await changes.until(() => numbers(seen, 'far').length >= 10, 'the client to get 10 messages');
    await pub.stop();
    const first = pub.echoed.map((e) => e.n);
    await changes.until(() => numbers(seen, 'far').includes(first.at(-1)), 'the client to get all of them');

    await a.stop();
    pub.run();
    await changes.until(() => pub.echoed.length >= first.length + 150, 'B to take 150 messages while A is down');
    await pub.stop();
    const taken = pub.echoed.map((e) => e.n);
    const away = seen.length;
    a = await startChat(t, portA, { env, changes });
    await changes.until(() => numbers(seen, 'far').includes(taken.at(-1)), () => `the client to get ${taken.at(-1)}; it got ${numbers(seen, 'far')}`);

    const lastSeen = seen.slice(0, away).filter((e) => e.kind == 'topic').at(-1);
    const after = seen.slice(away).filter((e) => e.kind == 'topic' || e.kind == 'gap');
    assert.equal(after[0].kind, 'gap', 'the gap comes first');
    assert.equal(after[0].after, lastSeen.offset, 'after the last offset the client saw');
    assert.equal(after[0].resumed_at, after[1].offset, 'resumed at the first message it gets');
    assert.equal(after.filter((e) => e.kind == 'gap').length, 1, 'one gap');
    const resumed = numbers(after, 'far');
    // What the stream keeps: Redis trims `MAXLEN ~ 100`, so at least the last 100 entries (in
    // whole nodes: a few more); the replay gives all it kept. (Read after the fact: the client's
    // own join line, appended around the replay, may have trimmed a node since, never added one.)
    const kept = redis.numbers('nitrous:chat', 'far');
    assert.ok(kept.length >= 99, `the stream keeps 100 entries, the client's join line at most one of them: ${kept.length}`);
    assert.deepEqual(resumed.slice(-kept.length), kept, 'the client got all the stream keeps');
    assert.ok(resumed.length < taken.length - first.length, 'and not what it lost');
    assert.deepEqual(resumed, taken.slice(-resumed.length), 'the newest ones');
    assert.deepEqual(numbers(seen.slice(0, away), 'far'), first, 'before: every one, once');
    assert.ok(increasing(seen), 'stream offsets increase');
  });

  test('1012 (a restart in dev): the client reconnects at once, to the new process', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    // NITROUS_DEV=1: a shutdown closes peers with 1012. The proxy plays `cargo nitrous dev`, which
    // keeps the port open across a swap: new connections go to the new process before the old stops.
    const env = { NITROUS_DEV: '1' };
    const old = await startChat(t, await freePort(), { env, changes });
    const relay = await proxy(t, old.port, changes);
    const { WebSocket: Counted, made } = countingSocket(changes);
    // A long backoff: a reconnect that waited for it would not come within the test's waits.
    const { channel, seen } = client(t, relay.port, changes, { WebSocket: Counted, backoff: { initial: 30_000, max: 30_000 } });
    await changes.until(() => channel.status == 'open', 'the client to open');
    assert.deepEqual(await channel.request({ kind: 'ping' }), { kind: 'pong' });

    const fresh = await startChat(t, await freePort(), { env, changes });
    relay.retarget(fresh.port);
    let socketsAtStatus;
    const off = channel.on('status', (status) => status == 'reconnecting' && (socketsAtStatus ??= made.length));
    const stopped = old.stop();
    const reconnecting = await changes.until(() => seen.find((e) => e.status == 'reconnecting'), 'the 1012');
    assert.deepEqual(reconnecting.detail, { code: 1012, reason: 'server restarting', httpStatus: undefined, delay: 0 });
    assert.equal(socketsAtStatus, 2, 'the new socket was made before the status told of the drop: no timer');
    const started = performance.now();
    await changes.until(() => channel.status == 'open', 'the client to reopen');
    const took = performance.now() - started;
    off();
    await stopped;
    assert.deepEqual(relay.connections, [old.port, fresh.port], 'one connection to each process, none refused');
    assert.equal(made.length, 2);
    assert.deepEqual(await channel.request({ kind: 'ping' }), { kind: 'pong' });
    assert.deepEqual(
      statuses(seen).map((e) => e.status),
      ['open', 'reconnecting', 'open'],
    );
    t.diagnostic(`reopened ${took.toFixed(0)} ms after the 1012`);
  });

  test('1008 (a slow consumer, closed by the server): closed for good, no new connection', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const app = await startChat(t, await freePort(), { changes });
    const { WebSocket: Counted, made } = countingSocket(changes);
    const { channel, seen } = client(t, app.port, changes, { WebSocket: Counted, backoff: { initial: 20, max: 20 } });
    await changes.until(() => channel.status == 'open', 'the client to open');

    // The client stops reading; the room fills its socket, then the 16 MiB it may be behind.
    made[0].pause();
    const t0 = performance.now();
    const pub = await publisher(t, app.port, 'slow', changes);
    const padding = ' '.repeat(256 << 10);
    const slow = () => app.log.some((line) => line.includes('closing a slow consumer'));
    // At most 8 on their way: the server's log tells when to stop, soon after the fact.
    for (let sent = 0; !slow(); sent++) {
      assert.ok(sent < 400, 'the server closes the client as a slow consumer within 100 MiB');
      pub.send(padding);
      await changes.until(() => pub.echoed.length > sent - 8 || slow(), 'the echoes');
    }
    t.diagnostic(`closed as a slow consumer after ${pub.echoed.length} messages of 256 KiB, ${(performance.now() - t0).toFixed(0)} ms`);
    made[0].resume();
    const closed = await changes.until(() => seen.find((e) => e.status == 'closed'), 'the client to close');
    assert.deepEqual(closed.detail, { code: 1008, reason: 'slow consumer: outbound buffer full', httpStatus: undefined });
    t.diagnostic(`closed on the client ${(performance.now() - t0).toFixed(0)} ms in, after ${numbers(seen, 'slow').length} of them`);
    assert.ok(consecutive(numbers(seen, 'slow')), 'what it got before, in order');

    // A reconnect would come within 20 ms (the backoff); 300 ms of nothing says none is coming.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(made.length, 1, 'no new connection');
    assert.equal(channel.status, 'closed');
    assert.deepEqual(statuses(seen).map((e) => e.status), ['open', 'closed']);
  });

  test('an upgrade refused with a 4xx (a foreign Origin: 403; no such route: 404): closed for good, no new attempt', { skip, timeout: 20_000 }, async (t) => {
    const changes = new Changes();
    const app = await startChat(t, await freePort(), { changes });
    const url = `ws://127.0.0.1:${app.port}`;
    const foreign = countingSocket(changes, { origin: 'http://elsewhere.example' });
    const refused = connect(room, {}, { url, WebSocket: foreign.WebSocket, backoff: { initial: 20, max: 20 } });
    t.after(() => refused.close());
    const nowhere = countingSocket(changes);
    const missing = connect(channelRoute('/ws/nowhere'), {}, { url, WebSocket: nowhere.WebSocket, backoff: { initial: 20, max: 20 } });
    t.after(() => missing.close());
    const [refusedSeen, missingSeen] = [record(refused, changes), record(missing, changes)];
    const closed = (events) => events.find((e) => e.status == 'closed');
    await changes.until(() => closed(refusedSeen) && closed(missingSeen), 'both to close');
    assert.deepEqual(closed(refusedSeen).detail, { code: 1006, reason: '', httpStatus: 403 });
    assert.deepEqual(closed(missingSeen).detail, { code: 1006, reason: '', httpStatus: 404 });

    // A retry would come within 20 ms (the backoff); 300 ms of nothing says none is coming.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(foreign.made.length, 1, 'one attempt with the foreign Origin');
    assert.equal(nowhere.made.length, 1, 'one attempt at the missing route');
    const refusals = app.log.filter((line) => line.includes('refused a cross-origin WebSocket upgrade'));
    assert.equal(refusals.length, 1, `the server refused one upgrade:\n${app.log.join('\n')}`);
    assert.deepEqual(statuses(refusedSeen).map((e) => e.status), ['closed']);
    assert.deepEqual(statuses(missingSeen).map((e) => e.status), ['closed']);
  });
});
