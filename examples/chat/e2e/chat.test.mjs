// The chat example in headless Chromium: two pages talk, ping gets pong, the clock ticks, closing a
// page announces `left`, and a page reconnects by itself when the server restarts. Then, with two
// instances sharing the room through a real redis-server: a page whose instance restarts shows
// the messages published while it was away, once each, without a reload. Expects CHAT_BIN (the
// built app); `cargo xtask e2e` sets it. The tests start and restart the app (and Redis) themselves.
// Two pages on two instances see each other arrive in the room's "here" list and leave it.
// Last, the page under `cargo nitrous dev` (NITROUS_CLI), through an edit of a route and of the page.
import { test } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { WAIT, root, entries, waitForEntry, waitForWelcomes, freePort, browser, startApp, startDev } from './support.mjs';

const bin = process.env.CHAT_BIN;
const screenshot = process.env.SCREENSHOT ?? join(root, 'target/e2e/chat.png');

// A redis-server on a free port that keeps its data in a new folder; `stop()` ends it.
async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nitrous-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    lines.on('line', (line) => { if (line.includes('Ready to accept connections')) resolve(); });
    child.on('error', (e) => reject(new Error(`cannot start redis-server (install Debian's redis-server): ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
  });
  return {
    port,
    // How many instances receive the room: an instance subscribes when its first page joins.
    subscribers: () => Number(execFileSync('redis-cli', ['-p', String(port), 'PUBSUB', 'NUMSUB', 'nitrous:chat']).toString().trim().split('\n')[1]),
    stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); }),
  };
}

async function until(condition, what) {
  const deadline = Date.now() + WAIT;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(what);
    await new Promise((resolve) => setTimeout(resolve, 50)); // polling another process, bounded
  }
}

test('two browser pages chat through the seed handlers', async () => {
  assert.ok(bin, 'set CHAT_BIN to the built chat app');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let app = await startApp(port);
  const context = await browser();
  try {
    const first = await context.newPage();
    await first.goto(url);
    await waitForEntry(first, 't.startsWith("serverWelcome ")', 'the first page is welcomed');
    const firstId = (await entries(first)).find((e) => e.startsWith('serverWelcome ')).slice('serverWelcome '.length, -1);

    const second = await context.newPage();
    await second.goto(url);
    await waitForEntry(second, 't.startsWith("serverWelcome ")', 'the second page is welcomed');
    const secondId = (await entries(second)).find((e) => e.startsWith('serverWelcome ')).slice('serverWelcome '.length, -1);
    assert.notEqual(firstId, secondId);
    await waitForEntry(first, JSON.stringify(`server${secondId} joined!`) + ' === t', 'the first page sees the second join');

    await second.fill('#name', 'bo');
    await second.fill('#text', 'hello from the second page');
    await second.press('#text', 'Enter');
    const said = JSON.stringify(`${secondId}bo: hello from the second page`);
    await waitForEntry(first, `${said} === t`, 'the message reaches the first page');
    await waitForEntry(second, `${said} === t`, 'the sender sees its echo');

    await first.fill('#text', 'ping');
    await first.press('#text', 'Enter');
    await waitForEntry(first, '"serverpong" === t', 'ping gets pong');
    // pong goes to the sender alone: a later message arrives on the second page, no pong before it
    await first.fill('#text', 'after the pong');
    await first.press('#text', 'Enter');
    const after = JSON.stringify(`${firstId}after the pong`);
    await waitForEntry(second, `${after} === t`, 'the second page gets the next message');
    assert.ok(!(await entries(second)).includes('serverpong'), 'pong reached only the sender');

    const clock = async (page) => page.textContent('#clock');
    await first.waitForFunction(() => document.querySelector('#clock').textContent.startsWith('Message @ '), null, { timeout: WAIT });
    const before = await clock(first);
    await first.waitForFunction((seen) => document.querySelector('#clock').textContent !== seen, before, { timeout: WAIT });
    assert.match(await clock(first), /^Message @ \d\d:\d\d:\d\d$/);

    mkdirSync(dirname(screenshot), { recursive: true });
    await first.screenshot({ path: screenshot, fullPage: true });

    await second.close();
    await waitForEntry(first, JSON.stringify(`server${secondId} left!`) + ' === t', 'closing a page announces left');

    // The server restarts (Ctrl-C, then again on the same port): the page reconnects by itself,
    // is welcomed again, and the clock goes on.
    await app.stop();
    await first.waitForFunction(() => document.querySelector('#status').textContent === 'reconnecting…', null, { timeout: WAIT });
    app = await startApp(port);
    await first.waitForFunction(() => document.querySelector('#status').textContent === 'connected', null, { timeout: WAIT });
    await waitForWelcomes(first, 2);
    const beforeRestart = await clock(first);
    await first.waitForFunction((seen) => document.querySelector('#clock').textContent !== seen, beforeRestart, { timeout: 15_000 });
  } finally {
    await context.close();
    await app.stop();
  }
});

test('a page whose instance restarts shows what was said while it was away, once', async () => {
  assert.ok(bin, 'set CHAT_BIN to the built chat app');
  const redis = await startRedis();
  const env = { NITROUS_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
  const [portA, portB] = [await freePort(), await freePort()];
  let one = await startApp(portA, env);
  const two = await startApp(portB, env);
  const context = await browser();
  try {
    const away = await context.newPage();
    await away.goto(`http://127.0.0.1:${portA}`);
    await waitForEntry(away, 't.startsWith("serverWelcome ")', 'the first page is welcomed');
    const stays = await context.newPage();
    await stays.goto(`http://127.0.0.1:${portB}`);
    await waitForEntry(stays, 't.startsWith("serverWelcome ")', 'the second page is welcomed');
    await until(() => redis.subscribers() === 2, 'both instances receive the room');
    await stays.fill('#text', 'before the restart');
    await stays.press('#text', 'Enter');
    await waitForEntry(away, 't.endsWith("before the restart")', 'a message crosses instances');

    // The first page's instance goes down; the room goes on without it.
    await one.stop();
    await away.waitForFunction(() => document.querySelector('#status').textContent === 'reconnecting…', null, { timeout: WAIT });
    for (const text of ['while you were away 1', 'while you were away 2']) {
      await stays.fill('#text', text);
      await stays.press('#text', 'Enter');
      await waitForEntry(stays, `t.endsWith(${JSON.stringify(text)})`, 'the room hears it');
    }

    // Back up on the same port: the page reconnects by itself, after the last offset it saw.
    one = await startApp(portA, env);
    await away.waitForFunction(() => document.querySelector('#status').textContent === 'connected', null, { timeout: 15_000 });
    await waitForEntry(away, 't.endsWith("while you were away 2")', 'the page shows what it missed');
    const shown = (await entries(away)).filter((e) => e.includes('while you were away') || e.endsWith('before the restart'));
    assert.deepEqual(
      shown.map((e) => e.replace(/^.*?(before the restart|while you were away \d)$/, '$1')),
      ['before the restart', 'while you were away 1', 'while you were away 2'],
      `each once, in order: ${JSON.stringify(await entries(away))}`,
    );
  } finally {
    await context.close();
    await one.stop();
    await two.stop();
    await redis.stop();
  }
});

// What the page's "here" line shows: the names in the room, on every instance, sorted.
const hereNow = (page) => page.$eval('#members', (el) => el.textContent);

async function waitForHere(page, names, what) {
  const expected = [...names].sort().join(', ');
  await page.waitForFunction((want) => document.querySelector('#members').textContent === want, expected, { timeout: WAIT })
    .catch(async () => assert.fail(`${what}: the page shows "${await hereNow(page)}", not "${expected}"`));
}

test('two pages on two instances see each other arrive in the room and leave it', async () => {
  assert.ok(bin, 'set CHAT_BIN to the built chat app');
  const redis = await startRedis();
  const env = { NITROUS_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
  const [portA, portB] = [await freePort(), await freePort()];
  const one = await startApp(portA, env);
  const two = await startApp(portB, env);
  const context = await browser();
  try {
    const ada = await context.newPage();
    await ada.goto(`http://127.0.0.1:${portA}/?name=ada`);
    await waitForHere(ada, ['ada'], 'a page sees itself in the room');

    const bo = await context.newPage();
    await bo.goto(`http://127.0.0.1:${portB}/?name=bo`);
    await waitForHere(bo, ['ada', 'bo'], 'a page on the other instance sees who was there');
    await waitForHere(ada, ['ada', 'bo'], 'a page sees the other instance\'s page arrive');

    await bo.close();
    await waitForHere(ada, ['ada'], 'a page sees the other instance\'s page leave');
  } finally {
    await context.close();
    await one.stop();
    await two.stop();
    await redis.stop();
  }
});

// Under `cargo nitrous dev`: the page stays open across edits. An edit to a route swaps the app
// under it (the socket gets 1012 and reconnects, the page is not reloaded); an edit to the page
// itself reloads it. Expects NITROUS_CLI (the built cargo-nitrous) and runs in the workspace; the
// edited files are put back as they were.
test('under cargo nitrous dev, an edit swaps the app under an open page', async () => {
  const cli = process.env.NITROUS_CLI;
  assert.ok(cli, 'set NITROUS_CLI to the built cargo-nitrous');
  const route = join(root, 'examples/chat/src/server/routes/sse.rs');
  const html = join(root, 'examples/chat/src/page.html');
  const originals = new Map([[route, readFileSync(route, 'utf8')], [html, readFileSync(html, 'utf8')]]);
  const port = await freePort();
  const { said, line, stop } = startDev(cli, port);
  const context = await browser();
  try {
    await line('nitrous dev: serving', 0, 600_000);
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}`);
    await waitForEntry(page, 't.startsWith("serverWelcome ")', 'the page is welcomed');
    await page.waitForFunction(() => window.__nitrousDev === true, null, { timeout: WAIT });
    await page.evaluate(() => {
      window.stillHere = true;
      window.updates = [];
      window.addEventListener('nitrous:update', (event) => window.updates.push(event.detail));
    });

    // A route edit: the page stays, its socket reconnects to the new build.
    let from = said.length;
    writeFileSync(route, `${originals.get(route)}\n// edited by the e2e test\n`);
    await line('nitrous dev: serving the new build', from, 180_000);
    await page.waitForFunction(() => window.updates.length === 1, null, { timeout: WAIT });
    assert.deepEqual(await page.evaluate(() => window.updates.map((u) => u.pageChanged)), [false]);
    assert.equal(await page.evaluate(() => window.stillHere), true, 'not reloaded');
    await waitForWelcomes(page, 2);
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'connected', null, { timeout: WAIT });
    await page.fill('#text', 'after the swap');
    await page.press('#text', 'Enter');
    await waitForEntry(page, 't.endsWith("after the swap")', 'the new build carries the chat');

    // A page edit: the page reloads itself and works.
    from = said.length;
    const reloaded = page.waitForEvent('load', { timeout: 180_000 });
    writeFileSync(html, originals.get(html).replace('</body>', '<!-- edited by the e2e test -->\n</body>'));
    await line('nitrous dev: serving the new build', from, 180_000);
    await reloaded;
    assert.equal(await page.evaluate(() => window.stillHere), undefined, 'a new document');
    assert.match(await page.content(), /edited by the e2e test/);
    await waitForEntry(page, 't.startsWith("serverWelcome ")', 'the reloaded page is welcomed');
  } finally {
    await context.close();
    await stop();
    for (const [file, text] of originals) writeFileSync(file, text);
  }
});
