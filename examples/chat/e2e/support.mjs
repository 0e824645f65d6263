// What the browser tests share: the chat page's list, free ports, the app, Chromium, `cargo nitrous dev`.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WAIT = 10_000;

// The workspace root: `cargo nitrous dev` runs there, and the tests edit files under it.
export const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

// What each page's message list shows, one string per entry: "user message".
export const entries = (page) => page.$$eval('#log li', (items) => items.map((li) => li.textContent));

export async function waitForEntry(page, predicate, what) {
  await page.waitForFunction(
    (source) => [...document.querySelectorAll('#log li')].some((li) => new Function('t', `return ${source}`)(li.textContent)),
    predicate,
    { timeout: WAIT },
  ).catch(async () => assert.fail(`${what}; the list shows ${JSON.stringify(await entries(page))}`));
}

// Until the page has been welcomed `count` times: once per connection of its chat socket.
export async function waitForWelcomes(page, count) {
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('#log li')].filter((li) => li.textContent.startsWith('serverWelcome ')).length === n,
    count,
    { timeout: WAIT },
  );
}

// A free port on 127.0.0.1, so the restarted app can listen where the page expects it.
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Starts the app (CHAT_BIN) and resolves once it prints its address; `stop()` sends Ctrl-C and waits.
// Its log (stderr) is echoed and kept in `logged`.
export async function startApp(port, env = {}) {
  const child = spawn(process.env.CHAT_BIN, ['--addr', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logged = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(`${line}\n`);
    logged.push(line);
  });
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    lines.on('line', (line) => { if (line.startsWith('chat: listening on ')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the app exited (${code}) before listening`)));
  });
  return {
    logged,
    stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGINT'); }),
  };
}

// A new, empty profile each run (playwright passes it as --user-data-dir); `extra` flags after ours.
export const browser = (extra = []) => chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'nitrous-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 900, height: 720 },
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...extra,
  ],
});

// `cargo nitrous dev -p chat` on 127.0.0.1:`port`, in the workspace, with `cli` the built
// cargo-nitrous. Its stderr is echoed and kept: `line(prefix, from, timeout)` is the next line
// that starts with `prefix` after the `from`th (`said.length` before an edit); `stop()` ends it.
export function startDev(cli, port) {
  const dev = spawn(cli, ['nitrous', 'dev', '-p', 'chat', '--addr', `127.0.0.1:${port}`], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const said = [];
  const waiters = [];
  createInterface({ input: dev.stderr }).on('line', (line) => {
    process.stderr.write(`${line}\n`);
    said.push(line);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const line = (prefix, from, timeout) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${prefix}" within ${timeout} ms:\n${said.join('\n')}`)), timeout);
    const look = () => {
      const found = said.slice(from).find((l) => l.startsWith(prefix));
      if (found) { clearTimeout(timer); resolve(found); } else waiters.push(look);
    };
    look();
  });
  const stop = () => new Promise((resolve) => {
    if (dev.exitCode !== null || dev.signalCode !== null) return resolve();
    dev.on('exit', resolve);
    dev.kill('SIGTERM');
  });
  return { said, line, stop };
}
