// The README's Vite dev-proxy recipe (vite/vite.config.mjs) in headless Chromium: the chat page
// served by Vite, its clock (/api/sse) and chat socket (/ws/chat) proxied to `cargo nitrous dev`,
// through an edit of a route that swaps the app under the open page. Then the recipe's warning:
// with `changeOrigin: true` on /ws, nitrous refuses the upgrade (403). And the README shows the
// recipe as it is tested. Expects NITROUS_CLI and CHAT_BIN, as chat.test.mjs does.
import { test } from 'node:test';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, mergeConfig } from 'vite';
import { WAIT, root, waitForEntry, waitForWelcomes, freePort, browser, startApp, startDev } from './support.mjs';

const recipe = join(root, 'examples/chat/e2e/vite/vite.config.mjs');

// Vite with the recipe, on a free port of 127.0.0.1, proxying to `target` and serving the chat's
// own page (examples/chat/src/page.html); `overrides` are merged over the recipe.
async function startVite(target, overrides = {}) {
  process.env.NITROUS_TARGET = target; // the recipe reads it when Vite loads it
  const server = await createServer(mergeConfig({
    configFile: recipe,
    root: join(root, 'examples/chat/src'),
    // Vite's cache under e2e's node_modules: a hidden folder, which `cargo nitrous dev` ignores.
    cacheDir: join(root, 'examples/chat/e2e/node_modules/.vite'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: await freePort(), strictPort: true },
  }, overrides));
  assert.equal(server.config.server.proxy['/ws'].target, target, 'the recipe proxies to NITROUS_TARGET');
  await server.listen();
  return { url: `http://127.0.0.1:${server.config.server.port}`, close: () => server.close() };
}

// Counts, in the page, each connection of the clock's EventSource and the ticks each one brought,
// and the close codes of the chat socket; the page's own code is unchanged.
function instrument() {
  window.clockOpens = 0;
  window.ticks = [];
  window.chatCloses = [];
  const NativeEventSource = window.EventSource;
  window.EventSource = class extends NativeEventSource {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => { window.clockOpens += 1; });
      this.addEventListener('message', (event) => window.ticks.push({ open: window.clockOpens, data: event.data }));
    }
  };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      if (new URL(this.url).pathname === '/ws/room') this.addEventListener('close', (event) => window.chatCloses.push(event.code));
    }
  };
}

// Until the clock has ticked twice on its `open`th connection: two events through the proxy
// while the stream stays open, so Vite passes it on as it comes rather than buffering it.
async function waitForTicks(page, open, timeout) {
  await page.waitForFunction(
    (n) => new Set(window.ticks.filter((t) => t.open === n).map((t) => t.data)).size >= 2,
    open,
    { timeout },
  ).catch(async () => assert.fail(`two ticks on connection ${open}; the page saw ${JSON.stringify(await page.evaluate(() => window.ticks))}`));
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await waitForEntry(page, `t.endsWith(${JSON.stringify(text)})`, `"${text}" comes back through the proxy`);
}

test('the Vite recipe: page from Vite, /api and /ws proxied to cargo nitrous dev, across a swap', async () => {
  const cli = process.env.NITROUS_CLI;
  assert.ok(cli, 'set NITROUS_CLI to the built cargo-nitrous');
  const route = join(root, 'examples/chat/src/server/routes/sse.rs');
  const original = readFileSync(route, 'utf8');
  const port = await freePort();
  const dev = startDev(cli, port);
  const context = await browser();
  let vite;
  try {
    await dev.line('nitrous dev: serving', 0, 600_000);
    vite = await startVite(`http://127.0.0.1:${port}`);
    await context.addInitScript(instrument);
    const page = await context.newPage();
    await page.goto(`${vite.url}/page.html`);
    assert.ok(await page.$('script[src="/@vite/client"]'), 'the page came through Vite');
    assert.equal(await page.evaluate(() => window.__nitrousDev), undefined, 'not from nitrous');

    await waitForEntry(page, 't.startsWith("serverWelcome ")', 'the page is welcomed through the proxy');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'connected', null, { timeout: WAIT });
    await say(page, 'through vite');
    await waitForTicks(page, 1, WAIT);
    assert.match(await page.textContent('#clock'), /^Message @ \d\d:\d\d:\d\d$/);
    await page.evaluate(() => { window.stillHere = true; });

    // A route edit: nitrous swaps the app; the socket is closed with 1012 through the proxy, the
    // page reconnects through it to the new build, and the clock's stream comes back.
    const from = dev.said.length;
    writeFileSync(route, `${original}\n// edited by the e2e test\n`);
    await dev.line('nitrous dev: serving the new build', from, 180_000);
    await waitForWelcomes(page, 2);
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'connected', null, { timeout: WAIT });
    assert.deepEqual(await page.evaluate(() => window.chatCloses), [1012], 'the close code came through Vite');
    await say(page, 'after the swap');
    await waitForTicks(page, 2, 15_000);
    assert.equal(await page.evaluate(() => window.stillHere), true, 'the same document: neither Vite nor nitrous reloaded it');
  } finally {
    await context.close();
    await vite?.close();
    await dev.stop();
    writeFileSync(route, original);
  }
});

// The status nitrous answers, through Vite at `url`, to a browser's upgrade of /ws/chat from a
// page at `url`: 101, or the refusal's.
function upgradeStatus(url) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/ws/chat`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        Origin: url,
      },
    });
    req.on('upgrade', (res, socket) => { socket.end(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.setTimeout(WAIT, () => req.destroy(new Error('no answer to the upgrade')));
    req.end();
  });
}

test('with changeOrigin: true on /ws, nitrous refuses the upgrade through Vite (403)', async () => {
  assert.ok(process.env.CHAT_BIN, 'set CHAT_BIN to the built chat app');
  const port = await freePort();
  const target = `http://127.0.0.1:${port}`;
  const app = await startApp(port);
  const servers = [];
  try {
    servers.push(await startVite(target));
    servers.push(await startVite(target, { server: { proxy: { '/ws': { changeOrigin: true } } } }));
    const [recipeSays, changeOriginSays] = [await upgradeStatus(servers[0].url), await upgradeStatus(servers[1].url)];
    assert.equal(recipeSays, 101, 'the recipe: Origin and Host both name Vite');
    assert.equal(changeOriginSays, 403, 'changeOrigin: Host names nitrous, Origin names Vite');
  } finally {
    for (const server of servers) await server.close();
    await app.stop();
  }
});

test('the README shows the recipe as it is tested', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(readme.includes(`\`\`\`js\n${readFileSync(recipe, 'utf8')}\`\`\`\n`), 'README.md has vite/vite.config.mjs in a js block, verbatim');
});
