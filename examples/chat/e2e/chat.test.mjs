// The chat example in headless Chromium: two pages talk, ping gets pong, the clock ticks, closing a
// page announces `left`, and a page reconnects by itself when the server restarts. Expects CHAT_BIN
// (the built app); `cargo xtask e2e` sets it. The test starts and restarts the app itself.
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const bin = process.env.CHAT_BIN;
const screenshot = process.env.SCREENSHOT
  ?? join(dirname(fileURLToPath(import.meta.url)), '../../../target/e2e/chat.png');
const WAIT = 10_000;

// What each page's message list shows, one string per entry: "user message".
const entries = (page) => page.$$eval('#log li', (items) => items.map((li) => li.textContent));

async function waitForEntry(page, predicate, what) {
  await page.waitForFunction(
    (source) => [...document.querySelectorAll('#log li')].some((li) => new Function('t', `return ${source}`)(li.textContent)),
    predicate,
    { timeout: WAIT },
  ).catch(async () => assert.fail(`${what}; the list shows ${JSON.stringify(await entries(page))}`));
}

// A free port on 127.0.0.1, so the restarted app can listen where the page expects it.
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Starts the app and resolves once it prints its address; `stop()` sends Ctrl-C and waits.
async function startApp(port) {
  const child = spawn(bin, ['--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    lines.on('line', (line) => { if (line.startsWith('chat: listening on ')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the app exited (${code}) before listening`)));
  });
  return {
    stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGINT'); }),
  };
}

test('two browser pages chat through the seed handlers', async () => {
  assert.ok(bin, 'set CHAT_BIN to the built chat app');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let app = await startApp(port);
  // A new, empty profile each run (playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'nitrous-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 900, height: 720 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
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
    await first.waitForFunction(
      () => [...document.querySelectorAll('#log li')].filter((li) => li.textContent.startsWith('serverWelcome ')).length === 2,
      null,
      { timeout: WAIT },
    );
    const beforeRestart = await clock(first);
    await first.waitForFunction((seen) => document.querySelector('#clock').textContent !== seen, beforeRestart, { timeout: 15_000 });
  } finally {
    await context.close();
    await app.stop();
  }
});
