/**
 * What-if replay: a recorded incident's diagnosis re-run from its history (the recorded
 * tool responses) against the current ranking, reasoner, planner and another policy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DEFAULT_RUNBOOKS_DIR } from '../src/config.js';
import { loadRunbooks } from '../src/knowledge/runbooks.js';
import { readHistoryFile } from '../src/replay-history/history-json.js';
import { NothingToReplayError, recordedServiceStates, whatIf, type WhatIfResult } from '../src/replay-history/what-if.js';
import { Policy } from '../src/schemas/policy.js';
import { tempDir } from './support/temporal.js';
import { writePolicy } from './support/policy-files.js';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const history = (name: string) => readHistoryFile(join(HISTORIES, name));
const policyFrom = (file: string) => Policy.parse(parse(readFileSync(file, 'utf8')));

void test('with the recorded policy, the recorded decision is read back as it was taken', async () => {
  const r = whatIf(history('auto-remediated.json'), { runbooks: await loadRunbooks(DEFAULT_RUNBOOKS_DIR), serviceStates: recordedServiceStates(history('auto-remediated.remediation.json')) });
  assert.equal(r.incidentId, 'recorded-auto-remediated');
  assert.equal(r.recorded.policyVersion, 'recorded-auto-remediated');
  assert.equal(r.now.policyVersion, r.recorded.policyVersion, 'no --policy: the recorded one');
  assert.equal(r.recorded.checkpoint.required, false);
  assert.equal(r.recorded.path, 'act without a person');
  assert.equal(r.recorded.rootCause?.service, 'payment');
  assert.ok(r.recorded.ranking.length > 0 && r.now.ranking.length > 0);
  assert.ok(r.now.confidence > 0);
});

void test('a raised confidence threshold: the same recorded incident would now wait for a person', async () => {
  const file = writePolicy((p) => {
    p.checkpoint.confidenceThreshold = 0.999;
    p.checkpoint.sampleRate = 0;
  });
  const r: WhatIfResult = whatIf(history('auto-remediated.json'), { policy: policyFrom(file), runbooks: await loadRunbooks(DEFAULT_RUNBOOKS_DIR) });
  assert.equal(r.recorded.checkpoint.required, false);
  assert.equal(r.now.checkpoint.required, true);
  assert.equal(r.now.uncertain, true);
  assert.match(r.now.checkpoint.reasons.join(' '), /confidence below 0.999/);
  assert.match(r.now.path, /^wait for a person/);
  assert.ok(r.differences.some((d) => /^checkpoint: not required → required/.test(d)), r.differences.join('\n'));
});

void test('`vigil replay <file> --what-if --policy` prints recorded and now side by side, and --json', () => {
  const file = writePolicy((p) => {
    p.checkpoint.confidenceThreshold = 0.999;
  });
  const run = (extra: string[]) =>
    spawnSync(process.execPath, ['bin/vigil.js', 'replay', join(HISTORIES, 'auto-remediated.json'), '--what-if', '--policy', file, ...extra], {
      encoding: 'utf8',
      env: { ...process.env, VIGIL_DATA_DIR: tempDir('what-if') },
    });
  const text = run([]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /what-if for recorded-auto-remediated/);
  assert.match(text.stdout, /checkpoint\s+not required\s+required/);
  assert.match(text.stdout, /- checkpoint: not required → required/);
  const json = run(['--json']);
  assert.equal(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout) as WhatIfResult;
  assert.equal(r.now.checkpoint.required, true);
});

void test('an incident that closed before any analysis has nothing to re-run', async () => {
  assert.throws(() => whatIf(history('auto-resolved.json'), { runbooks: [] }), NothingToReplayError);
  const r = spawnSync(process.execPath, ['bin/vigil.js', 'replay', join(HISTORIES, 'auto-resolved.json'), '--what-if'], { encoding: 'utf8', env: { ...process.env, VIGIL_DATA_DIR: tempDir('what-if') } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ended before any analysis/);
});
