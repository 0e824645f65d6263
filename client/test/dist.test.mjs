// dist/ is committed (the chat example serves it to a page with no build step): it must be what
// a fresh `tsc` build of src/ produces, byte for byte. After an edit: `npm run build`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('dist/ is what tsc builds from src/ now', (t) => {
  const fresh = mkdtempSync(join(tmpdir(), 'nitrous-client-dist-'));
  t.after(() => rmSync(fresh, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', fresh], { cwd: client, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const built = readdirSync(fresh).sort();
  assert.ok(built.includes('index.js') && built.includes('index.d.ts'), built.join(' '));
  assert.deepEqual(readdirSync(join(client, 'dist')).sort(), built, 'dist/ has other files than the build: npm run build');
  for (const name of built) {
    assert.ok(
      readFileSync(join(client, 'dist', name)).equals(readFileSync(join(fresh, name))),
      `dist/${name} is not what src/ builds: npm run build`,
    );
  }
});
