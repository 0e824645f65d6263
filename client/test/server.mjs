// What server.test.mjs runs: the chat example's binary (CHAT_BIN, built by `cargo xtask client`),
// redis-server, a raw publisher on the seed's /ws/chat, a TCP proxy that counts connections, and
// a way to wait on all of them without sleeping: every event calls `changes.notify()`, and
// `changes.until(condition)` re-checks its condition on each, within a deadline.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import WebSocket from 'ws';

/** The chat example's binary; the tests against it skip without it. */
export const CHAT_BIN = process.env.CHAT_BIN;

/** How long one wait may take, in ms. */
export const WAIT = 10_000;

/** Something happened: conditions waited on are checked again. */
export class Changes {
  #waiters = new Set();

  notify() {
    for (const check of [...this.#waiters]) check();
  }

  /** Resolves with `condition()` once it is truthy (checked now and on every change). */
  until(condition, what, timeout = WAIT) {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = () => {
        try {
          const value = condition();
          if (value) {
            done();
            resolve(value);
          }
        } catch (error) {
          done();
          reject(error);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waited ${timeout} ms for ${typeof what == 'function' ? what() : what}`));
      }, timeout);
      this.#waiters.add(check);
      check();
    });
  }
}

/** A free port on 127.0.0.1 (so a restarted server can listen where its clients expect it). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The chat app on 127.0.0.1:`port`, resolved once it prints that it listens. Its stderr (the
 * `tracing` log) is kept in `log`, each line a change; CHAT_LOG=1 echoes it. `stop()` is Ctrl-C
 * and waits for the exit; the test's end kills what is still running.
 */
export async function startChat(t, port, { env = {}, changes } = {}) {
  const child = spawn(CHAT_BIN, ['--addr', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'info', ...env },
  });
  const log = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (process.env.CHAT_LOG) process.stderr.write(`[chat :${port}] ${line}\n`);
    log.push(line);
    changes?.notify();
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL');
    return exited;
  });
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('chat: listening on ')) resolve();
    });
    child.on('error', (error) => reject(new Error(`cannot start CHAT_BIN=${CHAT_BIN}: ${error.message}`)));
    exited.then(({ code, signal }) =>
      reject(new Error(`the chat app exited (${code ?? signal}) before listening:\n${log.join('\n')}`)),
    );
  });
  return {
    port,
    log,
    /** Ctrl-C, as a user stops it: the peers get 1001 (1012 with NITROUS_DEV=1); waits for the exit. */
    stop: async () => {
      child.kill('SIGINT');
      const { code, signal } = await exited;
      if (code !== 0) throw new Error(`the chat app ended with ${code ?? signal} on Ctrl-C:\n${log.join('\n')}`);
    },
  };
}

/**
 * redis-server on a free port, AOF in a temp dir; `subscribers(channel)` asks PUBSUB NUMSUB,
 * `numbers(stream, tag)` the numbers of the publisher's messages the stream holds, oldest first.
 */
export async function startRedis(t) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nitrous-client-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('Ready to accept connections')) resolve();
    });
    child.on('error', (e) => reject(new Error(`cannot start redis-server (Debian: apt-get install redis-server): ${e.message}`)));
    exited.then((code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
  });
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(port), ...args]).toString();
  return {
    url: `redis://127.0.0.1:${port}`,
    subscribers: (channel) => Number(cli('PUBSUB', 'NUMSUB', channel).trim().split('\n')[1]),
    numbers: (stream, tag) =>
      cli('EVAL', NUMBERS, '1', stream, `${tag}:(%d+)`).split('\n').filter(Boolean).map(Number),
  };
}

/** XRANGE, each entry's field `m` (nitrous's envelope, its JSON inside) matched with ARGV[1]. */
const NUMBERS = `local found = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local n = string.match(entry[2][2], ARGV[1])
  if n then table.insert(found, n) end
end
return found`;

/** Re-checks `condition` (about another process, which tells no events) every 20 ms, bounded. */
export async function poll(condition, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A raw client of the seed's /ws/chat (plain JSON, not a channel client): `run()` sends
 * `${tag}:${n}`, n = 0, 1, 2..., every `every` ms while connected, `stop()` stops sending. The
 * route echoes each message to its sender and publishes it on the room's topic: `echoed` lists
 * `{ n, connection }` for every echo, so it is what the server took, and by which connection.
 * When its connection drops it reconnects every 50 ms (the server restarts) until `close()`.
 */
export async function publisher(t, port, tag, changes, every = 10) {
  const echoed = [];
  const mine = new RegExp(`^${tag}:(\\d+)`);
  let socket;
  let connections = 0;
  let next = 0;
  let timer;
  let closed = false;
  let retry;
  const open = () =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/chat`);
      const connection = connections;
      ws.on('open', () => {
        socket = ws;
        connections++;
        changes.notify();
        resolve();
      });
      ws.on('message', (data) => {
        const { message } = JSON.parse(data.toString());
        const match = mine.exec(message);
        if (match) {
          echoed.push({ n: Number(match[1]), connection });
          changes.notify();
        }
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        if (socket == ws) socket = undefined;
        changes.notify();
        if (!closed) retry = setTimeout(() => open().then(resolve), 50);
      });
    });
  await open();
  const self = {
    echoed,
    get connections() {
      return connections;
    },
    run() {
      clearInterval(timer);
      timer = setInterval(() => {
        if (socket?.readyState == WebSocket.OPEN) socket.send(`${tag}:${next++}`);
      }, every);
    },
    /** Stops sending; resolves once the last message sent is echoed (on a connection that stays up). */
    stop() {
      clearInterval(timer);
      return changes.until(() => next == 0 || echoed.at(-1)?.n == next - 1, `the echo of ${tag}:${next - 1}`);
    },
    /** Sends one message now (a large one, with `padding`). */
    send(padding = '') {
      socket.send(`${tag}:${next++}${padding}`);
    },
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(retry);
      socket?.close();
    },
  };
  t.after(() => self.close());
  return self;
}

/**
 * Records a channel's events, in order, each a change: `{ kind: 'topic', data, topic, offset }`,
 * `{ kind: 'gap', ...gap }`, `{ kind: 'status', status, detail }`, `{ kind: 'message', data }`.
 */
export function record(channel, changes) {
  const events = [];
  const push = (event) => {
    events.push(event);
    changes.notify();
  };
  channel.on('topic', (data, meta) => push({ kind: 'topic', data, ...meta }));
  channel.on('gap', (gap) => push({ kind: 'gap', ...gap }));
  channel.on('status', (status, detail) => push({ kind: 'status', status, detail }));
  channel.on('message', (data) => push({ kind: 'message', data }));
  return events;
}

/** The numbers of the publisher's messages among `events` (topic frames `${tag}:${n}`). */
export function numbers(events, tag) {
  const mine = new RegExp(`^${tag}:(\\d+)`);
  return events.flatMap((e) => (e.kind == 'topic' && mine.test(e.data.message) ? [Number(mine.exec(e.data.message)[1])] : []));
}

/** An offset `major-minor` as a pair of BigInts, to compare. */
export const offset = (text) => text.split('-').map(BigInt);

/** Whether offset `a` comes before offset `b`. */
export const before = (a, b) => {
  const [x, y] = [offset(a), offset(b)];
  return x[0] < y[0] || (x[0] == y[0] && x[1] < y[1]);
};

/**
 * `ws`'s WebSocket, counting: every socket the channel makes is in `made` (each a change), and
 * each gets `options` (an `origin` header, say).
 */
export function countingSocket(changes, options = {}) {
  const made = [];
  class Counted extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, options);
      made.push(this);
      changes.notify();
    }
  }
  return { WebSocket: Counted, made };
}

/**
 * A TCP proxy on a free port to 127.0.0.1:`target`; `retarget(port)` sends the next connections
 * elsewhere (as `cargo nitrous dev` hands its socket to the new process). `connections` lists
 * each connection's target, in order, each a change.
 */
export async function proxy(t, target, changes) {
  const connections = [];
  const sockets = new Set();
  const server = createServer((client) => {
    const to = target;
    connections.push(to);
    const upstream = tcpConnect(to, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut);
    upstream.on('error', cut);
    changes.notify();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    port: server.address().port,
    connections,
    retarget(port) {
      target = port;
    },
  };
}
