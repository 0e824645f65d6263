// The chat example in headless Chromium: two pages talk, ping gets pong, the clock ticks, and
// closing a page announces `left`. Expects CHAT_URL (the running app); `cargo xtask e2e` sets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const url = process.env.CHAT_URL;
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

test('two browser pages chat through the seed handlers', async () => {
  assert.ok(url, 'set CHAT_URL to the running chat app');
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
  } finally {
    await context.close();
  }
});
