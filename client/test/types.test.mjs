// The types hold: test/types/ok.ts compiles, and each line marked `// @expect TSxxxx` in the
// other files fails with that error, and nothing else fails. One tsc run for all of them, as an
// app compiles: the package by its name (dist/*.d.ts), strict, no DOM types.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const files = readdirSync(join(client, 'test/types'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => `test/types/${name}`);

/** `file:line TSxxxx` for each line marked `// @expect TSxxxx`. */
const expected = files.flatMap((file) =>
  readFileSync(join(client, file), 'utf8')
    .split('\n')
    .flatMap((line, index) => [...line.matchAll(/@expect (TS\d+)/g)].map(([, code]) => `${file}:${index + 1} ${code}`)),
);

test('ok.ts compiles; every marked line fails with its error code, and no other line fails', () => {
  assert.ok(files.includes('test/types/ok.ts'));
  assert.ok(expected.length >= 10, `found only ${expected.length} @expect markers`);
  const run = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--pretty', 'false', '--strict', '--target', 'ES2020', '--lib', 'ES2020',
      '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', ...files],
    { cwd: client, encoding: 'utf8' },
  );
  const errors = [...run.stdout.matchAll(/^(\S+\.ts)\((\d+),\d+\): error (TS\d+)/gm)].map(
    ([, file, line, code]) => `${file}:${line} ${code}`,
  );
  assert.notEqual(run.status, 0, 'tsc should fail on the marked lines');
  assert.deepEqual(errors.sort(), expected.sort(), run.stdout);
});
