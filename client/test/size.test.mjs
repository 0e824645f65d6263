// The whole client, bundled and minified by esbuild then gzip -9, stays within 4 kB.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { build } from 'esbuild';

const LIMIT = 4096;
const client = join(dirname(fileURLToPath(import.meta.url)), '..');

test(`min+gzip size is at most ${LIMIT} bytes`, async (t) => {
  const result = await build({
    entryPoints: [join(client, 'src/index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const minified = result.outputFiles[0].contents;
  const size = gzipSync(minified, { level: 9 }).length;
  console.log(`nitrous-client: ${minified.length} bytes minified, ${size} bytes min+gzip (limit ${LIMIT})`);
  assert.ok(minified.length > 1000, 'the bundle is suspiciously small: did the entry point change?');
  assert.ok(size <= LIMIT, `${size} bytes min+gzip, over the ${LIMIT}-byte budget`);
});
