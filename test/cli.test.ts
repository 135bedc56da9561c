/** The `vigil` command's contract with a person at a terminal. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from './support/temporal.js';

function vigil(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

void test('an unknown command prints usage and exits non-zero', () => {
  const r = vigil(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /usage: vigil <command>/);
});

void test('an unknown flag prints usage and exits non-zero', () => {
  const r = vigil(['simulate', '--fualt', 'x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--fualt/);
  assert.match(r.stderr, /usage: vigil/);
});

void test('simulate --list names the fault kinds and the services', () => {
  const r = vigil(['simulate', '--list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { faults: { kind: string }[]; services: { name: string }[] };
  assert.ok(out.faults.some((f) => f.kind === 'bad-release'));
  assert.ok(out.services.length >= 8 && out.services.length <= 12);
});

void test('simulate with an unknown fault or service, or without vigil dev, says so', () => {
  assert.match(vigil(['simulate', '--fault', 'gremlins', '--service', 'payment']).stderr, /unknown fault kind "gremlins"/);
  assert.match(vigil(['simulate', '--fault', 'bad-release', '--service', 'paymnet']).stderr, /unknown service "paymnet"/);
  const r = vigil(['simulate', '--fault', 'bad-release', '--service', 'payment', '--data-dir', tempDir('nodev')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no running `vigil dev`/);
});

void test('approving an unknown incident is a clear error', () => {
  const r = vigil(['approve', 'incident-doesnotexist', '--as', 'commander@local', '--data-dir', tempDir('cli')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown incident "incident-doesnotexist"/);
});

void test('approve without --as is refused before anything is sent', () => {
  const r = vigil(['approve', 'incident-x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs --as/);
});

void test('vigil close labels a closed incident, and the label is what later incidents retrieve', async () => {
  const { writeReportFiles } = await import('../src/report/report-store.js');
  const { findSimilarIncidents, loadPastIncidents } = await import('../src/knowledge/past-incidents.js');
  const dataDir = tempDir('close');
  const alert = { fingerprint: 'f1', status: 'firing' as const, labels: { alertname: 'HighErrorRate', service: 'frontend' }, annotations: {}, startsAt: '2026-11-21T05:00:00Z', source: 'test' };
  await writeReportFiles(join(dataDir, 'reports'), {
    incidentId: 'incident-old', stage: 'closed', severity: 'P1', title: 'HighErrorRate on frontend', alerts: [alert], evidence: [], missingSources: [],
    topologyServices: ['frontend', 'checkout', 'payment'], candidates: [{ service: 'checkout', score: 0.9, reasons: [], findingIds: [] }], hypotheses: [], history: null,
    inference: { reasoner: 'builtin', rootCause: { service: 'checkout' }, confidence: 0.7, reasoning: [], evidenceRefs: [], decidedBy: 'builtin', handOff: false, notes: [] },
    rootCause: { service: 'checkout' }, plan: null, checkpoint: null, decisions: [], saga: null, verification: null, outcome: 'no-action', policyVersion: 'v1', timeline: [], report: null,
  }, {});
  assert.match(vigil(['close', 'incident-old', '--root-cause', 'nonesuch', '--as', 'commander@local', '--data-dir', dataDir]).stderr, /unknown service "nonesuch"/);
  const r = vigil(['close', 'incident-old', '--root-cause', 'payment', '--as', 'commander@local', '--not-helpful', '--json', '--data-dir', dataDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).correct, false);
  const past = await loadPastIncidents(join(dataDir, 'reports'));
  assert.equal(past[0]?.feedback?.confirmedRootCause, 'payment');
  const similar = findSimilarIncidents(past, { alerts: [alert], candidates: [] });
  assert.equal(similar[0]?.rootCauseService, 'payment', 'the confirmed label, not the original inference');
});
