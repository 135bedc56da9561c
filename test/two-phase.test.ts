/**
 * Two-phase high-risk steps and irreversible-but-approved steps, end to end on the real
 * Temporal dev server with the simulator over MCP: the prepare runs before a person is
 * asked and the approval binds to it, the commit runs only after approval (once per key,
 * across a worker killed mid-saga), and a rejection or an expired preparation releases it.
 * A step without an undo is left out unless the policy marks it, and then always waits
 * for a person.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { preparedDigest } from '../activities/index.js';
import { exportIncident } from '../src/audit/export-incident.js';
import { JsonlAuditStore } from '../src/audit/jsonl-audit-store.js';
import type { EvidencePacket } from '../src/audit/evidence-packet.js';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import type { ServiceState } from '../src/schemas/capabilities.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import type { Policy } from '../src/schemas/policy.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { decideUpdate } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';
import { writePolicy } from './support/policy-files.js';
import { tempDir } from './support/temporal.js';

installTemporalRuntime();

const harnesses: IncidentHarness[] = [];
const workers: ChildProcess[] = [];
after(async () => {
  workers.forEach((w) => w.kill('SIGKILL'));
  for (const h of harnesses) await h.close();
});

async function harness(seed: number, policy: (p: Policy) => void, extra: { runbooksDir?: string; inProcessWorker?: boolean } = {}): Promise<IncidentHarness> {
  const h = await startIncidentHarness({
    seed,
    policyFile: writePolicy((p) => {
      p.checkpoint.sampleRate = 0;
      p.verification.windowSeconds = 60;
      policy(p);
    }),
    ...extra,
  });
  harnesses.push(h);
  return h;
}

interface PreparedRow {
  handle: string;
  status: string;
  idempotencyKey: string;
  committedBy: string | null;
  abortReason: string | null;
  requests: { prepare: number; commit: number; abort: number };
}
const prepared = async (h: IncidentHarness): Promise<PreparedRow[]> => ((await (await fetch(`${h.sim.controlUrl}/prepared`)).json()) as { prepared: PreparedRow[] }).prepared;
const callCounts = async (h: IncidentHarness): Promise<Record<string, number>> =>
  ((await (await fetch(`${h.sim.controlUrl}/action-counts`)).json()) as { callCounts: Record<string, number> }).callCounts;
const simState = async (h: IncidentHarness, service = 'payment'): Promise<ServiceState> => (await (await fetch(`${h.sim.controlUrl}/state/${service}`)).json()) as ServiceState;

async function packets(h: IncidentHarness, incidentId: string): Promise<EvidencePacket[]> {
  const store = new JsonlAuditStore(join(h.config.dataDir, 'audit.jsonl'));
  try {
    return (await exportIncident(store, incidentId)).records.map((r) => r.packet);
  } finally {
    await store.close();
  }
}

const approve = (handle: WorkflowHandle, actor: string, planDigest: string) => handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor, planDigest }] });
const refusal = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err instanceof WorkflowUpdateFailedError ? String((err.cause as Error | undefined)?.message) : String(err)),
  );

async function badReleaseAtCheckpoint(h: IncidentHarness): Promise<{ handle: WorkflowHandle; waiting: IncidentStatus }> {
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'bad-release', service: 'payment', severity: 'P2', alertService: 'payment' });
  const handle = h.client.workflow.getHandle(sim.incidentId);
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint' && !!s.checkpoint?.bindingDigest, 120_000);
  return { handle, waiting };
}

void test('a high-risk rollback is prepared before the checkpoint, the approval binds to it, and it is committed once after approval', async () => {
  const h = await harness(61, () => undefined);
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  const plan = waiting.plan;
  assert.equal(plan?.steps[0]?.action, 'rollback');
  assert.equal(plan?.steps[0]?.twoPhase, true);
  const badRelease = (await simState(h)).release;

  // Prepared, shown, not acted on.
  const cp = waiting.checkpoint;
  assert.ok(cp?.prepared?.length === 1 && cp.preparedDigest);
  const shown = cp.prepared[0];
  assert.ok(shown);
  assert.equal(shown.stepId, 'step-1');
  assert.equal(shown.summary, `deploy ${plan?.steps[0]?.params.toRelease ?? '?'} to payment (replacing ${badRelease})`);
  assert.match(cp.stepsNeedingApproval.join(' '), /rollback payment is high risk/);
  assert.deepEqual(await callCounts(h), {}, 'nothing was done before the approval');
  const before = await prepared(h);
  assert.deepEqual(before.map((p) => [p.handle, p.status, p.requests]), [[shown.handle, 'prepared', { prepare: 1, commit: 0, abort: 0 }]]);

  // The approval binds to the prepared result: the plan digest alone is refused.
  assert.equal(cp.preparedDigest, preparedDigest(cp.prepared), 'the digest covers what the checkpoint shows');
  const binding = cp.bindingDigest ?? '';
  assert.ok(binding.startsWith(`${plan?.digest ?? '?'}.p${cp.preparedDigest}.a`), binding);
  const planOnly = binding.replace(`.p${cp.preparedDigest}`, '');
  assert.match(await refusal(approve(handle, 'oncall@local', planOnly)), /changed since it was shown/);
  assert.equal(await refusal(approve(handle, 'oncall@local', binding)), 'accepted');

  const final = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  const done = final.saga?.actions.filter((a) => a.phase === 'do') ?? [];
  assert.equal(done.length, 1);
  assert.equal(done[0]?.preparedHandle, shown.handle, 'the commit of the approved preparation');
  const doKey = done[0]?.idempotencyKey ?? '?';
  assert.deepEqual(await callCounts(h), { [doKey]: 1 }, 'committed once, under the action key');
  const afterRows = await prepared(h);
  assert.equal(afterRows.length, 1, 'the saga committed the approved preparation, it did not prepare again');
  assert.equal(afterRows[0]?.status, 'committed');
  assert.equal(afterRows[0]?.committedBy, doKey);
  assert.equal(afterRows[0]?.requests.abort, 0);
  assert.equal((await simState(h)).release, plan?.steps[0]?.params.toRelease);

  const kinds = await packets(h, handle.workflowId);
  const prep = kinds.find((p) => p.kind === 'remediation-prepare');
  assert.equal(prep?.action?.executed, false);
  assert.equal(prep?.action?.parameters['handle'], shown.handle);
  const decision = kinds.find((p) => p.kind === 'checkpoint-decision' && p.details?.['kind'] === 'approve');
  assert.equal(decision?.details?.['planDigest'], binding, 'the decision record carries the binding with the prepared digest');
  assert.equal((decision?.details?.['prepared'] as { handle: string }[] | undefined)?.[0]?.handle, shown.handle);
  const action = kinds.find((p) => p.kind === 'remediation-action');
  assert.equal(action?.action?.parameters['preparedHandle'], shown.handle);
  const report = readFileSync(final.report?.markdownPath ?? '', 'utf8');
  assert.match(report, /Prepared before the checkpoint/);
  assert.match(report, /committed prepared prep-1-payment-rollback/);
});

void test('a rejection releases the prepared rollback: aborted, never committed, recorded', async () => {
  const h = await harness(62, () => undefined);
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  const badRelease = (await simState(h)).release;
  const shown = waiting.checkpoint?.prepared?.[0];
  assert.ok(shown);
  await handle.executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'oncall@local', reason: 'a fix-forward is ready' }] });
  const final = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'rejected');
  assert.deepEqual(
    final.releases?.map((r) => [r.stepId, r.handle, r.status]),
    [['step-1', shown.handle, 'aborted']],
  );
  assert.match(final.releases?.[0]?.reason ?? '', /rejected by oncall@local/);
  const rows = await prepared(h);
  assert.deepEqual(rows.map((r) => [r.status, r.requests.commit, r.requests.abort]), [['aborted', 0, 1]]);
  assert.match(rows[0]?.abortReason ?? '', /rejected by oncall@local/);
  assert.deepEqual(await callCounts(h), {}, 'no action ran');
  assert.equal((await simState(h)).release, badRelease, 'the bad release still runs: nothing was rolled back');
  const release = (await packets(h, handle.workflowId)).find((p) => p.kind === 'prepare-release');
  assert.equal(release?.action?.target, shown.handle);
  assert.equal(release?.action?.downstream?.status, 'aborted');
  assert.match(readFileSync(final.report?.markdownPath ?? '', 'utf8'), /Prepared steps released without a commit/);
});

void test('a takeover at the checkpoint releases the prepared rollback: the person does it by hand, nothing stays reserved', async () => {
  const h = await harness(64, () => undefined);
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  const shown = waiting.checkpoint?.prepared?.[0];
  assert.ok(shown);
  const badRelease = (await simState(h)).release;
  await handle.executeUpdate(decideUpdate, { args: [{ kind: 'takeover', actor: 'commander@local', reason: 'doing it by hand' }] });
  const final = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'manual-takeover');
  assert.deepEqual(final.releases?.map((r) => [r.stepId, r.handle, r.status]), [['step-1', shown.handle, 'aborted']]);
  assert.match(final.releases?.[0]?.reason ?? '', /commander@local took over/);
  const rows = await prepared(h);
  assert.deepEqual(rows.map((r) => [r.status, r.requests.commit, r.requests.abort]), [['aborted', 0, 1]]);
  assert.deepEqual(await callCounts(h), {}, 'no action ran');
  assert.equal((await simState(h)).release, badRelease, 'left to the person: the bad release still runs');
});

void test('a saga that cannot start releases the prepared rollback instead of letting it lapse', async () => {
  const h = await harness(63, () => undefined);
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  const shown = waiting.checkpoint?.prepared?.[0];
  assert.ok(shown);
  // Something else holds the saga's workflow id: the child start fails after the approval.
  const squatter = await h.client.workflow.start('NoSuchWorkflow', { workflowId: `${handle.workflowId}-remediation`, taskQueue: `nobody-${Date.now()}` });
  try {
    assert.equal(await refusal(approve(handle, 'oncall@local', waiting.checkpoint?.bindingDigest ?? '')), 'accepted');
    const final = await incidentResult(h.client, handle.workflowId);
    assert.equal(final.outcome, 'remediation-failed');
    assert.match(final.saga?.summary ?? '', /remediation ended abnormally/);
    assert.deepEqual(final.releases?.map((r) => [r.stepId, r.handle, r.status]), [['step-1', shown.handle, 'aborted']]);
    const rows = await prepared(h);
    assert.deepEqual(rows.map((r) => [r.status, r.requests.commit, r.requests.abort]), [['aborted', 0, 1]], 'released, never committed');
    assert.deepEqual(await callCounts(h), {}, 'no action ran');
  } finally {
    await squatter.terminate('test over').catch(() => undefined);
  }
});

void test('an approval that comes after the preparation expired: released, prepared again, asked again, then committed', async () => {
  const h = await harness(63, (p) => (p.remediation.prepareTtlSeconds = 8));
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  const first = waiting.checkpoint?.prepared?.[0];
  assert.ok(first && waiting.checkpoint?.bindingDigest);
  await new Promise((r) => setTimeout(r, Math.max(0, first.expiresAt * 1000 - Date.now()) + 500));
  // The binding is still the one shown, so the approval is taken; the workflow then finds the preparation expired.
  assert.equal(await refusal(approve(handle, 'oncall@local', waiting.checkpoint.bindingDigest)), 'accepted');
  const again = await waitForStatus(handle, (s) => s.stage === 'checkpoint' && (s.checkpoint?.prepared?.[0]?.handle ?? first.handle) !== first.handle, 60_000);
  const second = again.checkpoint?.prepared?.[0];
  assert.ok(second && again.checkpoint?.bindingDigest);
  assert.notEqual(again.checkpoint.bindingDigest, waiting.checkpoint.bindingDigest, 'a new binding for the new preparation');
  assert.deepEqual(await callCounts(h), {}, 'the expired preparation was not committed');
  assert.match(await refusal(approve(handle, 'oncall@local', waiting.checkpoint.bindingDigest)), /changed since it was shown/, 'the old approval binding no longer holds');
  assert.equal(await refusal(approve(handle, 'oncall@local', again.checkpoint.bindingDigest)), 'accepted');
  const final = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  assert.deepEqual(final.releases?.map((r) => [r.handle, r.status]), [[first.handle, 'expired']]);
  const rows = await prepared(h);
  assert.deepEqual(rows.map((r) => [r.handle, r.status, r.requests.commit]), [
    [first.handle, 'expired', 0],
    [second.handle, 'committed', 1],
  ]);
  assert.ok(final.timeline.some((t) => /expired before the approval: preparing again and asking again/.test(t.note)));
});

void test('a worker killed right after the commit resumes without committing again', async () => {
  const h = await harness(64, () => undefined, { inProcessWorker: false });
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
  const { handle, waiting } = await badReleaseAtCheckpoint(h);
  await approve(handle, 'oncall@local', waiting.checkpoint?.bindingDigest ?? '');
  const deadline = Date.now() + 60_000;
  while (Object.keys(await callCounts(h)).length === 0) {
    if (Date.now() > deadline) throw new Error('the commit never reached the simulator');
    await new Promise((r) => setTimeout(r, 25));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  await startWorker();
  const final = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  const counts = await callCounts(h);
  assert.equal(Object.keys(counts).length, 1);
  for (const [k, n] of Object.entries(counts)) assert.equal(n, 1, `${k} committed once`);
  const rows = await prepared(h);
  assert.equal(rows.length, 1, 'prepared once');
  assert.equal(rows[0]?.requests.prepare, 1);
  assert.equal(rows[0]?.status, 'committed');
  assert.equal((await simState(h)).release, waiting.plan?.steps[0]?.params.toRelease);
});

/** A runbook whose first step has no undo (a one-way data migration behind a flag), then a restart. */
function irreversibleRunbook(): string {
  const dir = tempDir('runbooks');
  writeFileSync(
    join(dir, 'migrate-then-restart.md'),
    `---
id: migrate-then-restart
title: Switch retries off for good, then restart
services: ["*"]
priority: 1000
steps:
  - action: set_flag
    description: Turn off retry-on-decline (drops the queued retries)
    flag: retry-on-decline
    enabled: false
    irreversible: the queued retries are dropped and cannot be restored
  - action: restart
    description: Restart to release the pool
---
Test runbook.
`,
  );
  return dir;
}

const boundedPolicy = (p: Policy) => {
  p.checkpoint.confidenceThreshold = 0;
  p.checkpoint.approvalRisk = ['critical'];
  p.autonomy.default = 'bounded';
  p.autonomy.limits = { maxRisk: 'high', actions: ['restart', 'scale', 'set_flag', 'rollback'] };
};

void test('a step without an undo and without the policy mark is left out of the plan, which says why', async () => {
  const h = await harness(65, boundedPolicy, { runbooksDir: irreversibleRunbook() });
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'payment', severity: 'P2', alertService: 'payment' });
  const final = await incidentResult(h.client, sim.incidentId);
  assert.equal(final.plan?.service, 'payment');
  assert.deepEqual(final.plan?.steps.map((s) => s.action), ['restart']);
  assert.equal(final.plan?.excluded?.[0]?.action, 'set_flag');
  assert.match(final.plan?.excluded?.[0]?.reason ?? '', /cannot be undone \(the queued retries are dropped.*\) and policy .* does not mark set_flag of payment/);
  assert.match(final.plan?.summary ?? '', /left out: set_flag payment/);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  assert.equal((await simState(h)).flags['retry-on-decline'], true, 'the flag was never touched');
  assert.match(readFileSync(final.report?.markdownPath ?? '', 'utf8'), /left out of the plan: set_flag payment: .*cannot be undone/);
});

void test('with the mark, the step without an undo waits for a person even under bounded autonomy, and its evidence says it has no undo', async () => {
  const h = await harness(
    66,
    (p) => {
      boundedPolicy(p);
      p.irreversible = [{ action: 'set_flag', service: 'payment', approved: true, reason: 'payments team accepts dropping retries' }];
    },
    { runbooksDir: irreversibleRunbook() },
  );
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'payment', severity: 'P2', alertService: 'payment' });
  const handle = h.client.workflow.getHandle(sim.incidentId);
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint' && !!s.checkpoint?.bindingDigest, 120_000);
  assert.deepEqual(waiting.plan?.steps.map((s) => [s.action, !!s.irreversible]), [['set_flag', true], ['restart', false]]);
  assert.match(waiting.checkpoint?.stepsNeedingApproval.join(' ') ?? '', /step-1: set_flag payment cannot be undone .*always with a person's approval/);
  assert.deepEqual(waiting.checkpoint?.stepsNeedingApproval.map((s) => s.split(':')[0]), ['step-1'], 'only the step without an undo needs the person');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await waitForStatus(handle, () => true)).stage, 'checkpoint', 'still waiting: no autonomy runs it');
  assert.deepEqual(await callCounts(h), {});
  await approve(handle, 'oncall@local', waiting.checkpoint?.bindingDigest ?? '');
  const final = await incidentResult(h.client, sim.incidentId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  assert.equal((await simState(h)).flags['retry-on-decline'], false);
  const action = (await packets(h, sim.incidentId)).find((p) => p.kind === 'remediation-action' && p.action?.kind === 'set_flag');
  assert.equal(action?.compensation?.irreversible, true);
  assert.equal(action?.compensation?.ref, 'none');
  assert.match(action?.compensation?.description ?? '', /^no undo: none: the queued retries are dropped/);
  assert.match(action?.policy?.decidingRule ?? '', /irreversible\[0\] \(set_flag, service payment, approved: true\)/);
  assert.match(readFileSync(final.report?.markdownPath ?? '', 'utf8'), /\*\*no undo\*\*: the queued retries are dropped/);
});
