// The chat example over HTTPS in headless Chromium, with a certificate the test makes (`openssl`)
// and Chromium told to trust its key: the page arrives over HTTP/2, ten EventSources are live at
// once (over HTTP/1.1 a browser holds at most six connections per origin), and the chat's
// WebSocket runs on an HTTP/2 stream (RFC 8441), so all of it shares one connection. Expects CHAT_BIN (the built app); `cargo xtask e2e` sets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAIT, waitForEntry, waitForWelcomes, freePort, browser, startApp } from './support.mjs';

// A CA and a certificate for 127.0.0.1 it signed; returns their folder and the base64 SHA-256 of
// the certificate's public key, which Chromium's `--ignore-certificate-errors-spki-list` trusts.
function certificates() {
  const dir = mkdtempSync(join(tmpdir(), 'nitrous-https-'));
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=nitrous test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  const key = openssl('x509', '-pubkey', '-noout', '-in', 'server.crt').toString();
  const spki = createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest('base64');
  return { dir, spki };
}

// Established TCP connections to `port` on this machine, from the kernel's tables (IPv4 and IPv6).
function connectionsTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 3 && fields[2].endsWith(`:${hex}`) && fields[3] === '01') count += 1;
    }
  }
  return count;
}

test('over HTTPS the page, ten event streams and the chat socket share one HTTP/2 connection', async () => {
  const { dir, spki } = certificates();
  const port = await freePort();
  const app = await startApp(port, {
    NITROUS_TLS_CERT: join(dir, 'server.crt'),
    NITROUS_TLS_KEY: join(dir, 'server.key'),
  });
  const context = await browser([`--ignore-certificate-errors-spki-list=${spki}`]);
  try {
    const page = await context.newPage();
    await page.goto(`https://127.0.0.1:${port}/`);
    const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
    assert.equal(protocol, 'h2', 'the page came over HTTP/2');
    await waitForWelcomes(page, 1); // the chat socket is open

    // Ten more event streams, all live at once: each delivers a tick while all are open.
    const live = await page.evaluate(async ({ count, wait }) => {
      window.sources = Array.from({ length: count }, () => new EventSource('/api/sse'));
      const ticks = window.sources.map((source) => new Promise((resolve) => source.addEventListener('message', resolve, { once: true })));
      const late = new Promise((resolve) => setTimeout(resolve, wait));
      await Promise.race([Promise.all(ticks), late]);
      return window.sources.filter((source) => source.readyState === EventSource.OPEN).length;
    }, { count: 10, wait: WAIT });
    assert.equal(live, 10, 'ten event streams live at once');

    // The socket still carries the chat meanwhile.
    await page.fill('#text', 'over one connection');
    await page.press('#text', 'Enter');
    await waitForEntry(page, "t.includes('over one connection')", 'the message came back through the socket');

    // The app's metrics (built with `--features prometheus`, as `cargo xtask e2e` builds it) count
    // the one socket, the eleven streams (the page's clock and ten) and HTTP/2 connections over TLS.
    const metrics = await page.evaluate(() => fetch('/metrics').then((r) => (r.ok ? r.text() : `GET /metrics: ${r.status}`)));
    assert.ok(!metrics.startsWith('GET /metrics'), `${metrics} (is CHAT_BIN built with --features prometheus?)`);
    assert.match(metrics, /^nitrous_websocket_peers 1$/m, metrics);
    assert.match(metrics, /^nitrous_event_streams 11$/m, metrics);
    assert.match(metrics, /^nitrous_connections\{protocol="h2",tls="true"\} [12]$/m, metrics);

    // The socket is on an HTTP/2 stream: the session's log line says how its handshake came.
    const plain = app.logged.map((line) => line.replace(/\x1b\[[0-9;]*m/g, '')); // without colours
    const opened = plain.filter((line) => line.includes('websocket{') && line.endsWith(' open'));
    assert.ok(opened.length > 0, `no session opened:\n${app.logged.join('\n')}`);
    for (const line of opened) assert.match(line, /http=HTTP\/2\.0/, line);
    // Chromium keeps at most two connections (its first and one it may have opened alongside
    // before it knew the first speaks HTTP/2) for the page, its clock, the ten streams and the
    // socket; over HTTP/1.1 it would need eight.
    const connections = connectionsTo(port);
    assert.ok(connections >= 1 && connections <= 2, `${connections} connections`);
  } finally {
    await context.close();
    await app.stop();
  }
});
