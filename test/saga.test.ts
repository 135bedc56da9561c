/**
 * Remediation as a saga on the real Temporal dev server: forced failures at every step
 * position, failed verification, failing compensations, and a worker killed mid-saga
 * (a real process) that resumes without repeating any action.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { decideUpdate } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';
import { writePolicy } from './support/policy-files.js';
import { tempDir } from './support/temporal.js';

installTemporalRuntime();

/** A three-step runbook that applies to everything: scale out, turn a flag off, restart. */
function threeStepRunbooks(): string {
  const dir = tempDir('runbooks');
  writeFileSync(
    join(dir, 'three-steps.md'),
    `---
id: three-steps
title: Scale out, disable retries, restart
services: ["*"]
priority: 1000
steps:
  - action: scale
    description: Add a replica
    replicas: 4
  - action: set_flag
    description: Turn off retry-on-decline
    flag: retry-on-decline
    enabled: false
  - action: restart
    description: Restart to release the pool
---
Test runbook.
`,
  );
  return dir;
}

const fastPolicy = (change: Parameters<typeof writePolicy>[0] = () => undefined) =>
  writePolicy((p) => {
    p.checkpoint.confidenceThreshold = 0;
    p.checkpoint.sampleRate = 0;
    p.checkpoint.approvalRisk = ['critical'];
    p.autonomy.default = 'bounded';
    p.autonomy.limits = { maxRisk: 'high', actions: ['restart', 'scale', 'set_flag', 'rollback'] };
    p.remediation = { ...p.remediation, actionTimeoutSeconds: 5, actionRetry: { initialIntervalSeconds: 1, maximumAttempts: 2 }, compensationRetry: { initialIntervalSeconds: 1, maximumAttempts: 3 } };
    p.verification.windowSeconds = 60;
    change(p);
  });

const harnesses: IncidentHarness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

async function run(h: IncidentHarness, failStep?: number): Promise<IncidentStatus> {
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'payment', severity: 'P2', alertService: 'payment', ...(failStep ? { failStep } : {}) });
  return incidentResult(h.client, sim.incidentId);
}

async function simState(h: IncidentHarness): Promise<{ replicas: number; flags: Record<string, boolean>; restarts: number }> {
  return (await (await fetch(`${h.sim.controlUrl}/state/payment`)).json()) as { replicas: number; flags: Record<string, boolean>; restarts: number };
}

async function counts(h: IncidentHarness): Promise<{ callCounts: Record<string, number>; requestCounts: Record<string, number> }> {
  return (await (await fetch(`${h.sim.controlUrl}/action-counts`)).json()) as { callCounts: Record<string, number>; requestCounts: Record<string, number> };
}

for (const failAt of [1, 2, 3]) {
  void test(`a failure at step ${failAt} undoes exactly the steps before it, newest first, each once`, async () => {
    const h = await startIncidentHarness({ seed: 40 + failAt, policyFile: fastPolicy(), runbooksDir: threeStepRunbooks() });
    harnesses.push(h);
    const original = await simState(h);
    const final = await run(h, failAt);
    const saga = final.saga;
    assert.ok(saga);
    assert.equal(final.plan?.service, 'payment', 'the plan acts on the service whose state is checked below');
    assert.equal(saga.outcome, 'failed-compensated', saga.summary);
    assert.equal(final.outcome, 'remediation-failed');
    const done = saga.actions.filter((a) => a.phase === 'do');
    assert.deepEqual(done.map((a) => [a.stepId, a.ok]), [...Array(failAt).keys()].map((i) => [`step-${i + 1}`, i + 1 < failAt]));
    const undone = saga.actions.filter((a) => a.phase === 'undo').map((a) => a.stepId);
    assert.deepEqual(undone, [...Array(failAt - 1).keys()].map((i) => `step-${failAt - 1 - i}`), 'reverse order of the completed steps');
    const c = await counts(h);
    for (const a of saga.actions.filter((x) => x.phase === 'undo' && x.action !== 'restart')) assert.equal(c.callCounts[a.idempotencyKey], 1, `${a.idempotencyKey} acted once`);
    const now = await simState(h);
    assert.equal(now.replicas, original.replicas, 'replicas restored');
    assert.deepEqual(now.flags, original.flags, 'flags restored');
  });
}

void test('a failed verification rolls every step back in reverse', async () => {
  // None of these steps cures CPU saturation (only more replicas would): verification fails and the saga undoes.
  const dir = tempDir('runbooks');
  writeFileSync(
    join(dir, 'no-cure.md'),
    `---
id: no-cure
title: Flip two flags and restart
services: ["*"]
priority: 1000
steps:
  - { action: set_flag, description: Turn off retry-on-decline, flag: retry-on-decline, enabled: false }
  - { action: set_flag, description: Turn on 3ds-v2, flag: 3ds-v2, enabled: true }
  - { action: restart, description: Restart }
---
Test runbook.
`,
  );
  const policy = fastPolicy((p) => {
    p.verification.windowSeconds = 15;
    p.checkpoint.confidenceThreshold = 0.999; // a person confirms the root cause first
  });
  const h = await startIncidentHarness({ seed: 44, policyFile: policy, runbooksDir: dir });
  harnesses.push(h);
  const original = await simState(h);
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'cpu-saturation', service: 'payment', severity: 'P2', alertService: 'payment' });
  const handle = h.client.workflow.getHandle(sim.incidentId);
  await waitForStatus(handle, (st) => st.stage === 'checkpoint');
  await handle.executeUpdate(decideUpdate, { args: [{ kind: 'override', actor: 'oncall@local', rootCauseService: 'payment', rootCauseIndicator: 'cpu_usage' }] });
  const final = await incidentResult(h.client, sim.incidentId);
  assert.equal(final.verification?.recovered, false);
  assert.equal(final.saga?.outcome, 'not-recovered-compensated', final.saga?.summary);
  assert.equal(final.outcome, 'not-recovered-rolled-back');
  assert.deepEqual(final.saga?.actions.filter((a) => a.phase === 'undo').map((a) => a.stepId), ['step-3', 'step-2', 'step-1']);
  assert.deepEqual((await simState(h)).flags, original.flags, 'both flags restored');
});

void test('a compensation that keeps failing is escalated with the undo work that is left', async () => {
  // Step 3 fails (fault A: failStep 3); the undo of step 2, the 4th distinct action, fails too (fault B: failStep 4).
  const h = await startIncidentHarness({ seed: 45, policyFile: fastPolicy(), runbooksDir: threeStepRunbooks() });
  harnesses.push(h);
  const f1 = await fetch(`${h.sim.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'memory-leak', service: 'cart', failStep: 4 }) });
  assert.equal(f1.status, 201);
  const final = await run(h, 3);
  const saga = final.saga;
  assert.ok(saga);
  assert.equal(saga.outcome, 'failed-compensation-incomplete', saga.summary);
  assert.deepEqual(saga.remainingUndo.map((s) => s.id), ['step-2'], 'what is left for a person');
  assert.match(saga.summary, /left for a person to undo/);
  const undos = saga.actions.filter((a) => a.phase === 'undo');
  assert.deepEqual(undos.map((a) => [a.stepId, a.ok]), [['step-2', false], ['step-1', true]], 'later undos still run after one fails');
  const report = final.report ? (await import('node:fs')).readFileSync(final.report.markdownPath, 'utf8') : '';
  assert.match(report, /Left to undo by a person/);
});

void test('a worker killed mid-saga resumes on restart without repeating any action', async () => {
  const h = await startIncidentHarness({
    seed: 46,
    policyFile: fastPolicy((p) => (p.verification.windowSeconds = 90)),
    runbooksDir: threeStepRunbooks(),
    inProcessWorker: false,
  });
  harnesses.push(h);
  const workers: ChildProcess[] = [];
  after(() => workers.forEach((w) => w.kill('SIGKILL')));
  const startWorker = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-main.ts'], {
      env: { ...process.env, VIGIL_TEST_CONFIG: JSON.stringify(h.config) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    workers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    });
    return child;
  };
  const first = await startWorker();
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'payment', severity: 'P2', alertService: 'payment' });
  // Kill the worker as soon as the first action has reached the system.
  const deadline = Date.now() + 60_000;
  while (Object.keys((await counts(h)).callCounts).length === 0) {
    if (Date.now() > deadline) throw new Error('no action happened');
    await new Promise((r) => setTimeout(r, 50));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  await startWorker();
  const final = await incidentResult(h.client, sim.incidentId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  const c = await counts(h);
  const keys = Object.keys(c.callCounts);
  assert.equal(keys.length, 3, 'three steps, three keys');
  for (const k of keys) assert.equal(c.callCounts[k], 1, `${k} performed once`);
  const state = await simState(h);
  assert.equal(state.restarts, 1);
  assert.equal(state.replicas, 4);
});
