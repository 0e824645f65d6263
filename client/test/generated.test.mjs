// The TypeScript `cargo nitrous types` wrote for the chat example compiles against this package,
// and its types bite: test/generated/use-chat.ts, with the generated file copied beside it (into a
// folder git ignores), compiles except on the lines marked `// @expect TSxxxx`, which fail so.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test("the chat example's generated routes compile, and misuse of them does not", () => {
  const dir = join(client, 'test/generated/.tmp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    copyFileSync(join(client, '../examples/chat/src/server/routes.ts'), join(dir, 'routes.ts'));
    copyFileSync(join(client, 'test/generated/use-chat.ts'), join(dir, 'use-chat.ts'));
    const use = 'test/generated/.tmp/use-chat.ts';
    const expected = readFileSync(join(client, use), 'utf8')
      .split('\n')
      .flatMap((line, index) => [...line.matchAll(/@expect (TS\d+)/g)].map(([, code]) => `${use}:${index + 1} ${code}`));
    assert.equal(expected.length, 5);
    const run = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--pretty', 'false', '--strict', '--target', 'ES2020', '--lib', 'ES2020,DOM',
        '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', use],
      { cwd: client, encoding: 'utf8' },
    );
    const errors = [...run.stdout.matchAll(/^(\S+\.ts)\((\d+),\d+\): error (TS\d+)/gm)].map(
      ([, file, line, code]) => `${file}:${line} ${code}`,
    );
    assert.deepEqual(errors.sort(), expected.sort(), run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
