// Event streams: a fake EventSource for the wrapping, the `eventsource` package against a tiny
// SSE server for the real path.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { EventSource } from 'eventsource';

import { events, eventRoute } from '../dist/index.js';
import { fakeEventSourceClass } from './fakes.mjs';

const news = eventRoute('/api/sse/{topic}');

test('data is JSON.parsed when it parses, else the string; the id comes along', () => {
  const Source = fakeEventSourceClass();
  const stream = events(news, { topic: 'a b' }, { url: 'http://h', EventSource: Source, withCredentials: true });
  const source = Source.all[0];
  assert.equal(source.url, 'http://h/api/sse/a%20b');
  assert.deepEqual(source.init, { withCredentials: true });
  assert.equal(stream.source, source);
  const seen = [];
  stream.on('message', (data, id) => seen.push(['message', data, id]));
  const off = stream.on('chat', (data, id) => seen.push(['chat', data, id]));
  source.dispatch('message', { data: '{"n":1}', lastEventId: '5-1' });
  source.dispatch('message', { data: 'plain text', lastEventId: '' });
  source.dispatch('chat', { data: '[1,2]', lastEventId: '5-2' });
  off();
  source.dispatch('chat', { data: '"gone"', lastEventId: '5-3' });
  assert.deepEqual(seen, [
    ['message', { n: 1 }, '5-1'],
    ['message', 'plain text', ''],
    ['chat', [1, 2], '5-2'],
  ]);
  stream.close();
  assert.equal(source.closed, true);
});

test("EventSource's own error events (no data) are not handed to an app's `error` listener", () => {
  const Source = fakeEventSourceClass();
  const stream = events(eventRoute('/api/sse'), {}, { url: 'http://h', EventSource: Source });
  const seen = [];
  stream.on('error', (data) => seen.push(data));
  Source.all[0].dispatch('error', { type: 'error' });
  Source.all[0].dispatch('error', { data: '{"app":"error"}', lastEventId: '' });
  assert.deepEqual(seen, [{ app: 'error' }]);
});

test('lastEventId goes in the lastEventID query parameter, with the rest of the query', () => {
  const Source = fakeEventSourceClass();
  events(news, { topic: 'n' }, { url: 'http://h/', EventSource: Source, lastEventId: '17-3', query: { token: 't' } });
  assert.equal(Source.all[0].url, 'http://h/api/sse/n?token=t&lastEventID=17-3');
});

test('the real `eventsource`: first connection resumes by query, its reconnect by Last-Event-ID', { timeout: 10_000 }, async (t) => {
  const requests = [];
  const server = createServer((request, response) => {
    requests.push({ url: request.url, lastEventId: request.headers['last-event-id'] });
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    if (requests.length == 1) {
      response.end('retry: 1\nid: 9-5\nevent: chat\ndata: {"user":"ada","text":"hi"}\n\nid: 9-6\ndata: plain\n\n');
    } else {
      response.write('id: 9-7\nevent: chat\ndata: {"user":"bob","text":"back"}\n\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  server.unref();

  const stream = events(news, { topic: 'room lobby' }, {
    url: `http://127.0.0.1:${server.address().port}`,
    EventSource,
    lastEventId: '9-4',
  });
  t.after(() => stream.close());
  const chats = [];
  const plain = new Promise((resolve) => stream.on('message', (data, id) => resolve([data, id])));
  const twoChats = new Promise((resolve) =>
    stream.on('chat', (data, id) => {
      chats.push([data, id]);
      if (chats.length == 2) resolve();
    }),
  );
  assert.deepEqual(await plain, ['plain', '9-6']);
  await twoChats;
  assert.deepEqual(chats, [
    [{ user: 'ada', text: 'hi' }, '9-5'],
    [{ user: 'bob', text: 'back' }, '9-7'],
  ]);
  assert.deepEqual(requests, [
    { url: '/api/sse/room%20lobby?lastEventID=9-4', lastEventId: undefined },
    { url: '/api/sse/room%20lobby?lastEventID=9-4', lastEventId: '9-6' },
  ]);
});
