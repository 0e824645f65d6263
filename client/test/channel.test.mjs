// The channel against a fake WebSocket, on node:test's fake clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  channelRoute,
  ClosedError,
  connect,
  NoticeError,
  QueueFullError,
  RequestError,
  TimeoutError,
} from '../dist/index.js';
import { fakeSocketClass, record, settled } from './fakes.mjs';

const room = channelRoute('/ws/room/{id}');

/** A channel to /ws/room/lobby on a fake socket class, with setTimeout faked. */
function setup(t, options = {}, socketOptions = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const Socket = fakeSocketClass(socketOptions);
  const channel = connect(room, { id: 'lobby' }, { url: 'ws://test', WebSocket: Socket, ...options });
  return { Socket, channel };
}

/** The delay of the last `reconnecting` status in `seen`. */
const lastDelay = (seen) => seen.filter(([name, status]) => name == 'status' && status == 'reconnecting').at(-1)[2].delay;

/** Whether `promise` has settled by the time pending callbacks have run. */
async function isSettled(promise) {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settled();
  return done;
}

describe('connecting', () => {
  test('offers nitrous.v1 at the route URL and says hello first; welcome opens it', (t) => {
    const { Socket, channel } = setup(t);
    const seen = record(channel);
    assert.equal(Socket.all.length, 1);
    assert.equal(Socket.last.url, 'ws://test/ws/room/lobby');
    assert.equal(Socket.last.protocols, 'nitrous.v1');
    assert.equal(channel.status, 'connecting');
    Socket.last.open();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
    assert.equal(channel.status, 'connecting');
    Socket.last.deliver({ type: 'welcome', protocol: 1, peer: 'peer-7' });
    assert.equal(channel.status, 'open');
    assert.equal(channel.peer, 'peer-7');
    assert.deepEqual(seen, [['status', 'open', undefined]]);
  });

  test('the query is added to the URL; a query function is asked again on each connect', (t) => {
    let token = 0;
    const { Socket } = setup(t, { query: () => ({ token: `t${++token}`, skip: undefined }) });
    assert.equal(Socket.last.url, 'ws://test/ws/room/lobby?token=t1');
    Socket.last.drop(1012);
    assert.equal(Socket.last.url, 'ws://test/ws/room/lobby?token=t2');
  });

  test('messages, topic frames and notices without an id reach their listeners', (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const seen = record(channel);
    Socket.last.deliver({ type: 'message', data: { text: 'to you' } });
    Socket.last.deliver({ type: 'topic', topic: 'room:lobby', offset: '9-1', data: { text: 'to all' } });
    Socket.last.deliver({ type: 'topic', topic: 'plain', data: 3 });
    Socket.last.deliver({ type: 'notice', code: 'bad-data', message: 'missing field `text`' });
    Socket.last.deliver('not json');
    Socket.last.deliver({ type: 'from-the-future' });
    assert.deepEqual(seen, [
      ['message', { text: 'to you' }],
      ['topic', { text: 'to all' }, { topic: 'room:lobby', offset: '9-1' }],
      ['topic', 3, { topic: 'plain', offset: undefined }],
      ['notice', { type: 'notice', code: 'bad-data', message: 'missing field `text`' }],
    ]);
  });

  test('a removed listener hears nothing; a throwing listener does not stop the others', (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const rethrown = [];
    t.mock.method(globalThis, 'queueMicrotask', (task) => rethrown.push(task));
    const heard = [];
    const off = channel.on('message', (data) => heard.push(['removed', data]));
    channel.on('message', () => {
      throw new Error('listener bug');
    });
    channel.on('message', (data) => heard.push(['kept', data]));
    Socket.last.deliver({ type: 'message', data: 1 });
    off();
    Socket.last.deliver({ type: 'message', data: 2 });
    assert.deepEqual(heard, [
      ['removed', 1],
      ['kept', 1],
      ['kept', 2],
    ]);
    assert.equal(rethrown.length, 2);
    assert.throws(rethrown[0], /listener bug/);
  });
});

describe('sends and the queue', () => {
  test('sends before welcome wait, then go out in order after the subscribes; later ones at once', async (t) => {
    const { Socket, channel } = setup(t);
    channel.send({ text: 'a' });
    const reply = channel.request({ kind: 'who' });
    channel.send({ text: 'b' });
    const subscribed = channel.subscribe('news');
    Socket.last.open();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
    Socket.last.deliver({ type: 'welcome', protocol: 1, peer: 'p' });
    channel.send({ text: 'c' });
    assert.deepEqual(Socket.last.sent, [
      { type: 'hello' },
      { type: 'subscribe', id: 1, topic: 'news' },
      { type: 'message', data: { text: 'a' } },
      { type: 'request', id: 2, data: { kind: 'who' } },
      { type: 'message', data: { text: 'b' } },
      { type: 'message', data: { text: 'c' } },
    ]);
    Socket.last.deliver({ type: 'reply', id: 1, ok: null });
    Socket.last.deliver({ type: 'reply', id: 2, ok: ['ada'] });
    await subscribed;
    assert.deepEqual(await reply, ['ada']);
  });

  test('past queueLimit a send throws QueueFullError and a request rejects with it', async (t) => {
    const { Socket, channel } = setup(t, { queueLimit: 2 });
    channel.send(1);
    channel.send(2);
    assert.throws(
      () => channel.send(3),
      (error) => error instanceof QueueFullError && error.limit == 2,
    );
    await assert.rejects(channel.request('r'), QueueFullError);
    Socket.last.welcome();
    assert.deepEqual(
      Socket.last.sent.slice(1).map((frame) => frame.data),
      [1, 2],
    );
  });

  test('the queue survives drops until a welcome', (t) => {
    const { Socket, channel } = setup(t, { backoff: { initial: 100, max: 100 } });
    t.mock.method(Math, 'random', () => 1);
    channel.send('kept');
    Socket.last.open();
    Socket.last.drop(1006);
    t.mock.timers.tick(100);
    assert.equal(Socket.all.length, 2);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent.slice(1), [{ type: 'message', data: 'kept' }]);
  });
});

describe('requests', () => {
  test('a reply resolves with ok, an err rejects with RequestError, a notice with NoticeError', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const seen = record(channel, ['notice']);
    const ok = channel.request({ kind: 'who' });
    const err = channel.request({ kind: 'kick' });
    const notice = channel.request({ kind: 'bad' });
    assert.deepEqual(
      Socket.last.sent.slice(1).map((frame) => frame.id),
      [1, 2, 3],
    );
    Socket.last.deliver({ type: 'reply', id: 2, err: { reason: 'not yours' } });
    Socket.last.deliver({ type: 'notice', code: 'bad-data', message: 'unknown variant `bad`', id: 3 });
    Socket.last.deliver({ type: 'reply', id: 1, ok: ['ada', 'bob'] });
    assert.deepEqual(await ok, ['ada', 'bob']);
    await assert.rejects(err, (error) => {
      assert.ok(error instanceof RequestError);
      assert.ok(channel.isRequestError(error));
      assert.deepEqual(error.err, { reason: 'not yours' });
      return true;
    });
    await assert.rejects(notice, (error) => {
      assert.ok(error instanceof NoticeError);
      assert.equal(error.code, 'bad-data');
      assert.equal(error.id, 3);
      assert.equal(channel.isRequestError(error), false);
      return true;
    });
    assert.deepEqual(seen, [], 'a notice that answers a request is not also a notice event');
  });

  test('no answer within requestTimeout rejects with TimeoutError; a late reply is ignored', async (t) => {
    const { Socket, channel } = setup(t, { requestTimeout: 1000 });
    Socket.last.welcome();
    const seen = record(channel);
    const slow = channel.request('slow');
    const quick = channel.request('quick', { timeout: 50 });
    t.mock.timers.tick(49);
    assert.equal(await isSettled(quick), false);
    t.mock.timers.tick(1);
    await assert.rejects(quick, (error) => error instanceof TimeoutError && error.timeout == 50);
    t.mock.timers.tick(949);
    assert.equal(await isSettled(slow), false);
    t.mock.timers.tick(1);
    await assert.rejects(slow, TimeoutError);
    Socket.last.deliver({ type: 'reply', id: 1, ok: 'late' });
    Socket.last.deliver({ type: 'reply', id: 2, ok: 'late' });
    assert.deepEqual(seen, []);
  });

  test('a queued request times out from the call and is then not sent', async (t) => {
    const { Socket, channel } = setup(t);
    const request = channel.request('waits', { timeout: 100 });
    t.mock.timers.tick(100);
    await assert.rejects(request, TimeoutError);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
  });

  test('ids count up from 1 again on each connection', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    channel.request('a').catch(() => {});
    channel.request('b').catch(() => {});
    channel.subscribe('t').catch(() => {});
    assert.deepEqual(
      Socket.last.sent.slice(1).map((frame) => frame.id),
      [1, 2, 3],
    );
    Socket.last.drop(1012);
    Socket.last.welcome();
    channel.request('c').catch(() => {});
    assert.deepEqual(
      Socket.last.sent.slice(1).map((frame) => [frame.type, frame.id]),
      [
        ['subscribe', 1],
        ['request', 2],
      ],
    );
  });

  test('a request in flight when the connection drops rejects with ClosedError and is not sent again', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const request = channel.request('maybe handled');
    Socket.last.drop(1012);
    await assert.rejects(request, ClosedError);
    assert.equal(channel.status, 'reconnecting', 'the channel itself goes on: the caller may call again');
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent.slice(1), []);
  });
});

describe('reconnecting', () => {
  test('backoff: full jitter, each delay random(0, min(max, initial * 2^attempt))', (t) => {
    const { Socket, channel } = setup(t, { backoff: { initial: 100, max: 1000 } });
    const randoms = [0.5, 0.25, 0.75, 0, 1, 0.5, 0.5];
    t.mock.method(Math, 'random', () => randoms.shift());
    const seen = record(channel, ['status']);
    const delays = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      Socket.last.drop(1006);
      const delay = lastDelay(seen);
      delays.push(delay);
      const sockets = Socket.all.length;
      if (delay > 0) {
        t.mock.timers.tick(delay - 1);
        assert.equal(Socket.all.length, sockets, `attempt ${attempt} waits its delay`);
      }
      t.mock.timers.tick(delay > 0 ? 1 : 0);
      assert.equal(Socket.all.length, sockets + 1, `attempt ${attempt} reconnects after its delay`);
    }
    // ceilings 100, 200, 400, 800, then max 1000, times the random draw
    assert.deepEqual(delays, [50, 50, 300, 0, 1000, 500, 500]);
    assert.equal(channel.status, 'reconnecting');
  });

  test('default backoff is 500 ms doubling to 20 s', (t) => {
    const { Socket, channel } = setup(t);
    t.mock.method(Math, 'random', () => 1);
    const seen = record(channel, ['status']);
    const delays = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      Socket.last.drop(1006);
      delays.push(lastDelay(seen));
      t.mock.timers.tick(lastDelay(seen));
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
  });

  test('a welcome resets the backoff', (t) => {
    const { Socket, channel } = setup(t, { backoff: { initial: 100, max: 10000 } });
    t.mock.method(Math, 'random', () => 1);
    const seen = record(channel, ['status']);
    for (const expected of [100, 200, 400]) {
      Socket.last.drop(1006);
      assert.equal(lastDelay(seen), expected);
      t.mock.timers.tick(expected);
    }
    Socket.last.welcome();
    Socket.last.drop(1011);
    assert.equal(lastDelay(seen), 100);
  });

  test('1012 (a restart) reconnects at once', (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const seen = record(channel, ['status']);
    Socket.last.drop(1012, 'swap');
    assert.equal(Socket.all.length, 2);
    assert.deepEqual(seen, [['status', 'reconnecting', { code: 1012, reason: 'swap', httpStatus: undefined, delay: 0 }]]);
    Socket.last.welcome();
    assert.equal(channel.status, 'open');
  });

  for (const code of [1001, 1006, 1011, 1013]) {
    test(`${code} reconnects with backoff`, (t) => {
      const { Socket, channel } = setup(t);
      t.mock.method(Math, 'random', () => 0.5);
      Socket.last.welcome();
      Socket.last.drop(code);
      assert.equal(channel.status, 'reconnecting');
      assert.equal(Socket.all.length, 1);
      t.mock.timers.tick(250);
      assert.equal(Socket.all.length, 2);
    });
  }

  test('closed before it ever opened (a browser hides a refused upgrade) retries with backoff', (t) => {
    const { Socket, channel } = setup(t);
    t.mock.method(Math, 'random', () => 0.5);
    Socket.last.drop(1006);
    assert.equal(channel.status, 'reconnecting');
    t.mock.timers.tick(250);
    assert.equal(Socket.all.length, 2);
  });

  for (const code of [1000, 1008, 4000, 4001, 4999]) {
    test(`${code} from the server closes for good`, async (t) => {
      const { Socket, channel } = setup(t);
      Socket.last.welcome();
      const request = channel.request('r');
      const seen = record(channel, ['status']);
      Socket.last.drop(code, 'go away');
      assert.equal(channel.status, 'closed');
      assert.deepEqual(seen, [['status', 'closed', { code, reason: 'go away', httpStatus: undefined }]]);
      await assert.rejects(request, ClosedError);
      t.mock.timers.tick(60_000);
      assert.equal(Socket.all.length, 1);
      assert.throws(() => channel.send('late'), ClosedError);
      await assert.rejects(channel.request('late'), ClosedError);
      await assert.rejects(channel.subscribe('late'), ClosedError);
    });
  }

  test('an upgrade refused with a 4xx (as `ws` reports it) closes for good; a 5xx retries', (t) => {
    const refused = setup(t, {}, { withStatus: true });
    refused.Socket.last.refuse(403);
    assert.deepEqual(refused.Socket.all[0].closedWith, { code: undefined, reason: undefined });
    assert.equal(refused.channel.status, 'closed');
    t.mock.timers.tick(60_000);
    assert.equal(refused.Socket.all.length, 1);

    const Socket = fakeSocketClass({ withStatus: true });
    const channel = connect(room, { id: 'x' }, { url: 'ws://test', WebSocket: Socket });
    const seen = record(channel, ['status']);
    Socket.last.refuse(503);
    assert.equal(channel.status, 'reconnecting');
    assert.equal(seen[0][2].httpStatus, 503);
    t.mock.timers.tick(500);
    assert.equal(Socket.all.length, 2);
  });

  test('close() sends 1000, rejects what waits, ignores the socket after, and stays closed', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const request = channel.request('r');
    const subscribe = channel.subscribe('news');
    const seen = record(channel);
    channel.close();
    assert.deepEqual(Socket.last.closedWith, { code: 1000, reason: undefined });
    assert.equal(channel.status, 'closed');
    await assert.rejects(request, ClosedError);
    await assert.rejects(subscribe, ClosedError);
    Socket.last.deliver({ type: 'message', data: 'after close' });
    Socket.last.drop(1006);
    channel.close();
    t.mock.timers.tick(60_000);
    assert.equal(Socket.all.length, 1);
    assert.deepEqual(seen, [['status', 'closed', { code: 1000, reason: '' }]]);
  });

  test('close() while waiting to reconnect cancels the reconnect and fails the queue', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.drop(1006);
    const queued = channel.request('r');
    channel.close();
    await assert.rejects(queued, ClosedError);
    t.mock.timers.tick(60_000);
    assert.equal(Socket.all.length, 1);
  });
});

describe('topics, offsets and resuming', () => {
  test('hello.resume carries the last offset per topic, from topic frames and gaps', (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const seen = record(channel, ['gap']);
    Socket.last.deliver({ type: 'topic', topic: 'a', offset: '1-1', data: 1 });
    Socket.last.deliver({ type: 'topic', topic: 'a', offset: '1-2', data: 2 });
    Socket.last.deliver({ type: 'topic', topic: 'b', offset: '5-1', data: 3 });
    Socket.last.deliver({ type: 'topic', topic: 'plain', data: 4 });
    const gap = { type: 'gap', topic: 'b', after: '5-1', resumed_at: '9-3' };
    Socket.last.deliver(gap);
    assert.deepEqual(seen, [['gap', gap]]);
    Socket.last.drop(1012);
    Socket.last.open();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello', resume: { a: '1-2', b: '9-3' } }]);
  });

  test('presence frames reach the presence listeners in order with the topic, and move no offset', (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const seen = record(channel, ['topic', 'presence']);
    const join = { type: 'presence', topic: 'a', event: 'join', member: 'ab-1', info: { name: 'ada' } };
    const leave = { type: 'presence', topic: 'a', event: 'leave', member: 'ab-1', info: { name: 'ada' } };
    Socket.last.deliver(join);
    Socket.last.deliver({ type: 'topic', topic: 'a', offset: '1-1', data: 'bye' });
    Socket.last.deliver(leave);
    assert.deepEqual(seen, [['presence', join], ['topic', 'bye', { topic: 'a', offset: '1-1' }], ['presence', leave]]);
    Socket.last.drop(1012);
    Socket.last.open();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello', resume: { a: '1-1' } }]);
  });

  test('a gap with a null resumed_at keeps the offset the client had', (t) => {
    const { Socket } = setup(t);
    Socket.last.welcome();
    Socket.last.deliver({ type: 'topic', topic: 'a', offset: '1-1', data: 1 });
    Socket.last.deliver({ type: 'gap', topic: 'a', after: '1-1', resumed_at: null });
    Socket.last.drop(1012);
    Socket.last.open();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello', resume: { a: '1-1' } }]);
  });

  test('its own topics are subscribed again with since after a reconnect, before queued sends', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const subscribed = channel.subscribe('news');
    assert.deepEqual(Socket.last.sent.at(-1), { type: 'subscribe', id: 1, topic: 'news' });
    Socket.last.deliver({ type: 'reply', id: 1, ok: null });
    await subscribed;
    await channel.subscribe('news'); // already subscribed: resolves at once, sends nothing
    assert.equal(Socket.last.sent.length, 2);
    Socket.last.deliver({ type: 'topic', topic: 'news', offset: '7-1', data: 'x' });
    Socket.last.drop(1012);
    channel.send('queued');
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent, [
      { type: 'hello', resume: { news: '7-1' } },
      { type: 'subscribe', id: 1, topic: 'news', since: '7-1' },
      { type: 'message', data: 'queued' },
    ]);
  });

  test('a subscribe in flight when the connection drops is sent again and resolves then', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const subscribed = channel.subscribe('news');
    Socket.last.drop(1012);
    assert.equal(await isSettled(subscribed), false);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent.at(-1), { type: 'subscribe', id: 1, topic: 'news' });
    Socket.last.deliver({ type: 'reply', id: 1, ok: null });
    await subscribed;
  });

  test('a refused subscribe rejects with NoticeError and is not sent again', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const subscribed = channel.subscribe('secret');
    Socket.last.deliver({ type: 'notice', code: 'not-allowed', message: 'no', id: 1 });
    await assert.rejects(subscribed, (error) => error instanceof NoticeError && error.code == 'not-allowed');
    Socket.last.drop(1012);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
  });

  test('a re-subscribe refused after a reconnect is told to the notice listeners', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    const subscribed = channel.subscribe('news');
    Socket.last.deliver({ type: 'reply', id: 1, ok: null });
    await subscribed;
    const seen = record(channel, ['notice']);
    Socket.last.drop(1012);
    Socket.last.welcome();
    const refusal = { type: 'notice', code: 'not-allowed', message: 'banned', id: 1 };
    Socket.last.deliver(refusal);
    assert.deepEqual(seen, [['notice', refusal]]);
    Socket.last.drop(1012);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
  });

  test('unsubscribe: answered by its reply; the topic is neither re-subscribed nor resumed', async (t) => {
    const { Socket, channel } = setup(t);
    Socket.last.welcome();
    channel.subscribe('news');
    Socket.last.deliver({ type: 'reply', id: 1, ok: null });
    Socket.last.deliver({ type: 'topic', topic: 'news', offset: '3-3', data: 'x' });
    const unsubscribed = channel.unsubscribe('news');
    assert.deepEqual(Socket.last.sent.at(-1), { type: 'unsubscribe', id: 2, topic: 'news' });
    Socket.last.deliver({ type: 'reply', id: 2, ok: null });
    await unsubscribed;
    Socket.last.drop(1012);
    Socket.last.welcome();
    assert.deepEqual(Socket.last.sent, [{ type: 'hello' }]);
  });
});
