// URLs of routes: params filled in and encoded, the query, the page's origin.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { routeUrl } from '../dist/route.js';
import { channelRoute, connect, eventRoute } from '../dist/index.js';
import { fakeSocketClass } from './fakes.mjs';

test('a route is its path', () => {
  assert.deepEqual(channelRoute('/ws/room/{id}'), { path: '/ws/room/{id}' });
  assert.deepEqual(eventRoute('/api/sse/news'), { path: '/api/sse/news' });
});

test('params are percent-encoded, each as one segment', () => {
  assert.equal(
    routeUrl('ws://h', '/ws/room/{id}/user/{name}', { id: 'a b/c?d#e', name: 'zoë&1' }),
    'ws://h/ws/room/a%20b%2Fc%3Fd%23e/user/zo%C3%AB%261',
  );
  assert.equal(routeUrl('ws://h', '/ws/n/{n}', { n: 42 }), 'ws://h/ws/n/42');
});

test('a catch-all keeps its slashes and encodes each segment', () => {
  assert.equal(routeUrl('http://h', '/files/{*rest}', { rest: 'docs/a b/c%.md' }), 'http://h/files/docs/a%20b/c%25.md');
});

test('a missing param is an error that names it', () => {
  assert.throws(() => routeUrl('ws://h', '/ws/room/{id}', {}), /\/ws\/room\/\{id\} needs the param id/);
});

test('the query is encoded; null and undefined values are left out; a trailing slash on the base is not doubled', () => {
  assert.equal(
    routeUrl('ws://h:3000/', '/ws/echo', {}, { token: 'a+b&c=d', n: 1, yes: true, none: null, gone: undefined }),
    'ws://h:3000/ws/echo?token=a%2Bb%26c%3Dd&n=1&yes=true',
  );
  assert.equal(routeUrl('ws://h', '/ws/echo', undefined), 'ws://h/ws/echo');
});

test('in a page, the default URL is the page origin with ws or wss', (t) => {
  t.after(() => delete globalThis.location);
  for (const [origin, expected] of [
    ['http://example.test:8080', 'ws://example.test:8080/ws/room/1'],
    ['https://example.test', 'wss://example.test/ws/room/1'],
  ]) {
    globalThis.location = { origin };
    const Socket = fakeSocketClass();
    connect(channelRoute('/ws/room/{id}'), { id: 1 }, { WebSocket: Socket });
    assert.equal(Socket.last.url, expected);
  }
  delete globalThis.location;
  assert.throws(
    () => connect(channelRoute('/ws/echo'), {}, { WebSocket: fakeSocketClass() }),
    /pass options\.url/,
  );
});
