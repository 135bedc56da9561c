/** Finding the Temporal CLI offline: env var, PATH, cache; a clear sentence when nothing works. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cacheDir, ensureTemporalCli, findTemporalCli, TemporalCliUnavailableError } from '../src/temporal/temporal-cli.js';
import { tempDir } from './support/temporal.js';

function fakeExecutable(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

void test('VIGIL_TEMPORAL_CLI wins over PATH and the cache', () => {
  const root = tempDir('cli');
  const explicit = fakeExecutable(join(root, 'explicit'), 'temporal');
  const onPath = fakeExecutable(join(root, 'bin'), 'temporal');
  const found = findTemporalCli({ VIGIL_TEMPORAL_CLI: explicit, PATH: join(root, 'bin'), VIGIL_CACHE_DIR: join(root, 'cache') });
  assert.deepEqual(found, { path: explicit, source: 'env' });
  assert.deepEqual(findTemporalCli({ PATH: join(root, 'bin'), VIGIL_CACHE_DIR: join(root, 'cache') }), { path: onPath, source: 'path' });
});

void test('a VIGIL_TEMPORAL_CLI that is not executable is an error, not a silent fallback', () => {
  assert.throws(() => findTemporalCli({ VIGIL_TEMPORAL_CLI: '/nonexistent/temporal', PATH: '' }), TemporalCliUnavailableError);
});

void test('the cache outside the repo is used when nothing else is there', () => {
  const root = tempDir('cli');
  const env = { PATH: join(root, 'empty'), VIGIL_CACHE_DIR: join(root, 'cache') };
  const cached = fakeExecutable(cacheDir(env), 'temporal');
  assert.match(cacheDir(env), /temporal-v1\.5\.1$/);
  assert.deepEqual(findTemporalCli(env), { path: cached, source: 'cache' });
});

void test('no CLI, no Go and no download: one sentence saying what to install', () => {
  const root = tempDir('cli');
  const env = { PATH: join(root, 'empty'), VIGIL_CACHE_DIR: join(root, 'cache') };
  assert.throws(
    () => ensureTemporalCli({ env, allowDownload: false, go: null, log: () => undefined }),
    (err: unknown) => err instanceof TemporalCliUnavailableError && /^No Temporal CLI found and Go is not installed: install Go .* or the Temporal CLI .*\.$/.test(err.message) && err.message.split('. ').length === 1,
  );
});

void test('no CLI and no Go, but downloads allowed: the SDK downloads it as it normally does', () => {
  const root = tempDir('cli');
  const env = { PATH: join(root, 'empty'), VIGIL_CACHE_DIR: join(root, 'cache') };
  assert.deepEqual(ensureTemporalCli({ env, go: null, log: () => undefined }), { path: undefined, source: 'sdk-download' });
});
