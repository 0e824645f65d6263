// The real socket path: the `ws` package's WebSocket against a tiny protocol server written with
// `ws` here (the Rust server's own tests are elsewhere).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import WebSocket, { WebSocketServer } from 'ws';

import { channelRoute, connect } from '../dist/index.js';

const room = channelRoute('/ws/room/{id}');

/** A server that accepts `nitrous.v1` (or refuses every upgrade with `refuse`). */
async function server(t, refuse) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => (protocols.has('nitrous.v1') ? 'nitrous.v1' : false),
    verifyClient: refuse ? (_, done) => done(false, refuse) : undefined,
  });
  await once(wss, 'listening');
  t.after(() => wss.close());
  return { wss, url: `ws://127.0.0.1:${wss.address().port}` };
}

/** The next `status` event for which `wanted(status)` holds. */
const until = (channel, wanted) =>
  new Promise((resolve) => {
    const off = channel.on('status', (status, detail) => {
      if (!wanted(status)) return;
      off();
      resolve([status, detail]);
    });
  });

/** The next connection to `wss`, and a function giving its next frame (parsed). */
async function accept(wss) {
  const [socket, request] = await once(wss, 'connection');
  const frames = [];
  let waiter;
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()));
    waiter?.();
  });
  const next = async () => {
    while (!frames.length) await new Promise((resolve) => (waiter = resolve));
    return frames.shift();
  };
  return { socket, request, next, send: (frame) => socket.send(JSON.stringify(frame)) };
}

test('hello, welcome, topic, request; 1012 reconnects at once resuming; 4001 closes', { timeout: 10_000 }, async (t) => {
  const { wss, url } = await server(t);
  const channel = connect(room, { id: 'lob by' }, { url, WebSocket, query: { token: 't' } });
  t.after(() => channel.close());

  const first = await accept(wss);
  assert.equal(first.request.url, '/ws/room/lob%20by?token=t');
  assert.equal(first.socket.protocol, 'nitrous.v1');
  assert.deepEqual(await first.next(), { type: 'hello' });
  const topic = new Promise((resolve) => channel.on('topic', (data, meta) => resolve([data, meta])));
  first.send({ type: 'welcome', protocol: 1, peer: 'peer-1' });
  first.send({ type: 'topic', topic: 'room:lobby', offset: '1-1', data: { text: 'hi' } });
  await until(channel, (status) => status == 'open');
  assert.deepEqual(await topic, [{ text: 'hi' }, { topic: 'room:lobby', offset: '1-1' }]);

  const reply = channel.request({ n: 21 });
  const request = await first.next();
  assert.deepEqual(request, { type: 'request', id: 1, data: { n: 21 } });
  first.send({ type: 'reply', id: request.id, ok: request.data.n * 2 });
  assert.equal(await reply, 42);

  const reconnecting = until(channel, (status) => status == 'reconnecting');
  first.socket.close(1012, 'restart');
  assert.deepEqual(await reconnecting, ['reconnecting', { code: 1012, reason: 'restart', httpStatus: undefined, delay: 0 }]);
  const second = await accept(wss);
  assert.deepEqual(await second.next(), { type: 'hello', resume: { 'room:lobby': '1-1' } });
  second.send({ type: 'welcome', protocol: 1, peer: 'peer-2' });
  await until(channel, (status) => status == 'open');
  assert.equal(channel.peer, 'peer-2');

  const closed = until(channel, (status) => status == 'closed');
  second.socket.close(4001, 'kicked');
  assert.deepEqual(await closed, ['closed', { code: 4001, reason: 'kicked', httpStatus: undefined }]);
});

test('an upgrade refused with 403 closes for good; with 503 it retries', { timeout: 10_000 }, async (t) => {
  const forbidden = await server(t, 403);
  const refused = connect(room, { id: 'x' }, { url: forbidden.url, WebSocket });
  t.after(() => refused.close());
  const [, detail] = await until(refused, (status) => status == 'closed');
  assert.equal(detail.httpStatus, 403);

  const unavailable = await server(t, 503);
  const retrying = connect(room, { id: 'x' }, { url: unavailable.url, WebSocket });
  t.after(() => retrying.close());
  const [, again] = await until(retrying, (status) => status == 'reconnecting');
  assert.equal(again.httpStatus, 503);
  assert.equal(again.code, 1006);
});

test('close() closes the socket with 1000', { timeout: 10_000 }, async (t) => {
  const { wss, url } = await server(t);
  const channel = connect(room, { id: 'x' }, { url, WebSocket });
  t.after(() => channel.close());
  const { socket, next } = await accept(wss);
  await next();
  socket.send(JSON.stringify({ type: 'welcome', protocol: 1, peer: 'p' }));
  await until(channel, (status) => status == 'open');
  const closed = once(socket, 'close');
  channel.close();
  const [code] = await closed;
  assert.equal(code, 1000);
});
