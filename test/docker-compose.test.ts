/** docker-compose.yml is what users run: it must be valid and wire vigil to Temporal. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';

void test('docker-compose.yml validates with docker-compose config', () => {
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'docker-compose is installed (.ci/run installs Debian\'s package)');
  assert.equal(r.status, 0, r.stderr);
});

void test('docker-compose.yml runs Temporal on PostgreSQL, its UI, and a vigil worker and ingest pointed at it', () => {
  const doc = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { image?: string; environment?: string[] | Record<string, string>; command?: string[] }> };
  const s = doc.services;
  assert.match(s['temporal']?.image ?? '', /^temporalio\/server:/);
  assert.ok((s['temporal']?.environment as string[]).includes('DB=postgres12'));
  assert.match(s['temporal-ui']?.image ?? '', /^temporalio\/ui:/);
  for (const name of ['vigil-worker', 'vigil-ingest']) {
    const env = s[name]?.environment as string[];
    assert.ok(env.includes('TEMPORAL_ADDRESS=temporal:7233'), `${name} talks to the compose Temporal`);
  }
  assert.deepEqual(s['vigil-worker']?.command, ['worker']);
  assert.equal(s['vigil-ingest']?.command?.[0], 'ingest');
});
