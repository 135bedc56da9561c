/**
 * Human checkpoints, escalation, staged autonomy, who may approve, and the kill switch,
 * on the real Temporal dev server with the simulator over MCP.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import { issueApproverToken } from '../src/identity/approver-token.js';
import type { Severity } from '../src/schemas/alert.js';
import type { Decision, IncidentStatus } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { decideSignal, decideUpdate, KILL_SWITCH_WORKFLOW, KILL_SWITCH_WORKFLOW_ID, pauseUpdate, resumeUpdate, sagaStatusQuery } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';
import { writePolicy } from './support/policy-files.js';

installTemporalRuntime();
const DEV_PRIVATE_KEY = '4h4qxVeVqYsDiZxiXCICiPs1wW0vDSFkWiX7wm8sVCs';
const harnesses: IncidentHarness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

async function harness(policyFile: string, seed: number): Promise<IncidentHarness> {
  const h = await startIncidentHarness({ seed, policyFile });
  harnesses.push(h);
  return h;
}

async function incident(h: IncidentHarness, fault: string, service: string, severity: Severity): Promise<WorkflowHandle> {
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault, service, severity, alertService: service });
  return h.client.workflow.getHandle(sim.incidentId);
}

async function actionCounts(h: IncidentHarness): Promise<Record<string, number>> {
  return ((await (await fetch(`${h.sim.controlUrl}/action-counts`)).json()) as { callCounts: Record<string, number> }).callCounts;
}

const refusalOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return String((err.cause as Error | undefined)?.message);
    throw err;
  }
  return 'accepted';
};

void test('a low-confidence diagnosis waits as "uncertain", and an override changes the root cause used downstream', async () => {
  // Every inference counts as uncertain under this policy; the restart plan itself needs nobody.
  const h = await harness(
    writePolicy((p) => {
      p.checkpoint.confidenceThreshold = 0.999;
      p.verification.windowSeconds = 20; // restarting catalog does not cure inventory: do not wait long to find out
    }),
    21,
  );
  const handle = await incident(h, 'db-pool-exhaustion', 'inventory', 'P3');
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint');
  assert.equal(waiting.checkpoint?.uncertain, true);
  assert.match(waiting.checkpoint?.reasons.join(' ') ?? '', /uncertain/);
  assert.equal(waiting.plan?.service, 'inventory');

  const rec = await handle.executeUpdate(decideUpdate, { args: [{ kind: 'override', actor: 'oncall@local', rootCauseService: 'catalog', rootCauseIndicator: 'db_connections_in_use', reason: 'I know better' }] });
  assert.equal(rec.accepted, true);
  const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
  assert.deepEqual(final.rootCause, { service: 'catalog', indicator: 'db_connections_in_use' });
  assert.equal(final.plan?.service, 'catalog', 'the plan follows the override');
  assert.ok(final.saga?.actions.some((a) => a.phase === 'do' && a.service === 'catalog'), 'the remediation acted on the overridden service');
  assert.ok(!final.saga?.actions.some((a) => a.phase === 'do' && a.service === 'inventory'));
  assert.ok(final.timeline.some((t) => /overrode the root cause to catalog/.test(t.note)));
});

void test('an override naming a service outside the topology is refused', async () => {
  const h = await harness(writePolicy((p) => (p.checkpoint.confidenceThreshold = 0.999)), 22);
  const handle = await incident(h, 'db-pool-exhaustion', 'payment', 'P3');
  await waitForStatus(handle, (s) => s.stage === 'checkpoint');
  const why = await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ kind: 'override', actor: 'oncall@local', rootCauseService: 'evil-svc' }] }));
  assert.match(why, /unknown service evil-svc/);
  await handle.executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'oncall@local', reason: 'test over' }] });
  assert.equal((await incidentResult(h.client, handle.workflowId)).outcome, 'rejected');
});

void test('a P0 refuses a non-commander (recorded with the identity) and approvals bound to an older plan or older alerts', async () => {
  const h = await harness(writePolicy(() => undefined), 23);
  const handle = await incident(h, 'db-pool-exhaustion', 'payment', 'P0');
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint');
  const seen = waiting.checkpoint?.bindingDigest ?? '';

  // A sender that cannot wait (signal): the refusal is recorded with who tried.
  await handle.signal(decideSignal, { kind: 'approve', actor: 'oncall@local', planDigest: seen });
  const afterSignal = await waitForStatus(handle, (s) => s.decisions.length > 0);
  assert.deepEqual(
    afterSignal.decisions.map((d) => [d.actor, d.role, d.accepted]),
    [['oncall@local', 'sre', false]],
  );
  assert.match(afterSignal.decisions[0]?.refusal ?? '', /incident-commander/);

  // New alerts arrive: the approval of what was seen before is stale.
  await h.client.workflow.getHandle(handle.workflowId).signal('alerts', {
    groupKey: 'test',
    deliveryId: 'late-alert',
    alerts: [{ fingerprint: 'late000000000001', status: 'firing', labels: { alertname: 'HighLatency', service: 'payment', severity: 'p0' }, annotations: {}, startsAt: new Date().toISOString(), source: 'test' }],
  });
  const refreshed = await waitForStatus(handle, (s) => s.alerts.length === 2);
  assert.notEqual(refreshed.checkpoint?.bindingDigest, seen);
  assert.match(await refusalOf(handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'commander@local', planDigest: seen }] })), /changed since it was shown/);
  const ok = await handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'commander@local', planDigest: refreshed.checkpoint?.bindingDigest ?? '' }] });
  assert.equal(ok.role, 'incident-commander');
  const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'remediated', final.saga?.summary);
});

void test('with signed tokens required, a valid commander token approves and forged or missing ones are refused', async () => {
  const h = await harness(writePolicy((p) => (p.identity.allowUnsigned = false)), 24);
  const handle = await incident(h, 'db-pool-exhaustion', 'catalog', 'P0');
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint');
  const digest = waiting.checkpoint?.bindingDigest ?? '';
  const now = Math.floor(Date.now() / 1000);
  const token = (sub: string, role: string, ttl = 600, key = DEV_PRIVATE_KEY) => issueApproverToken({ sub, role, kid: 'dev-1', privateKey: key, nowSeconds: now, ttlSeconds: ttl });
  const approve = (d: Partial<Decision>) => handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'commander@local', planDigest: digest, ...d }] });

  assert.match(await refusalOf(approve({})), /requires a signed token/);
  assert.match(await refusalOf(approve({ token: token('commander@local', 'incident-commander', 600, 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8') })), /signature does not verify/);
  assert.match(await refusalOf(approve({ token: token('commander@local', 'incident-commander', -5) })), /expired/);
  assert.match(await refusalOf(approve({ token: token('oncall@local', 'sre') })), /token is for oncall@local/);
  assert.match(await refusalOf(approve({ actor: 'oncall@local', token: token('oncall@local', 'sre') })), /needs one of: incident-commander/);
  const rec = await approve({ token: token('commander@local', 'incident-commander') });
  assert.equal(rec.verifiedBy, 'token');
  assert.equal((rec as Record<string, unknown>)['token'], undefined, 'tokens never enter the record');
  assert.equal((await incidentResult(h.client, handle.workflowId)).outcome, 'remediated');
});

void test('unanswered, the checkpoint escalates along the chain, notifies each level, takes the safe default and pushes the report', async () => {
  const received: { event: string; role?: string }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as { event: string; role?: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  after(() => hook.close());
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  const h = await harness(
    writePolicy((p) => {
      p.escalation.chain = [
        { role: 'sre', afterSeconds: 2 },
        { role: 'incident-commander', afterSeconds: 2 },
        { role: 'engineering-manager', afterSeconds: 2 },
      ];
      p.escalation.webhooks = [{ url, format: 'generic' }];
    }),
    25,
  );
  const handle = await incident(h, 'db-pool-exhaustion', 'payment', 'P0');
  const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'escalated-no-decision');
  assert.deepEqual(
    received.map((r) => [r.event, r.role]),
    [
      ['approval-requested', 'sre'],
      ['escalated', 'incident-commander'],
      ['escalated', 'engineering-manager'],
      ['handed-over', undefined],
      ['report', undefined],
    ],
    'every level is notified, then the hand-over, then the report is pushed',
  );
  assert.equal(final.saga, null, 'no remediation ran');
  assert.deepEqual(await actionCounts(h), {});
});

void test('a takeover while the remediation saga runs stops it: no further step, the record says what was done and what is left', async () => {
  // The kill switch holds the saga before its first step, so the takeover lands mid-saga.
  const { h, handle, resume, release } = await sagaHeldByKillSwitch(28, 'hold for the takeover test');
  try {
    const rec = await handle.executeUpdate(decideUpdate, { args: [{ kind: 'takeover', actor: 'commander@local', reason: 'doing it by hand' }] });
    assert.equal(rec.accepted, true);
    // Resuming now must not let the cancelled saga act.
    await resume();
    const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
    assert.equal(final.outcome, 'manual-takeover', final.saga?.summary);
    assert.equal(final.saga?.outcome, 'cancelled');
    assert.deepEqual(final.saga?.actions, [], 'no step ran');
    assert.match(final.saga?.summary ?? '', /a person took over: no further steps; 0 step\(s\) done/);
    assert.ok(final.timeline.some((t) => /commander@local took over manually: stopping remediation/.test(t.note)));
    assert.deepEqual(await actionCounts(h), {}, 'the simulator saw no action');
  } finally {
    await release();
  }
});

void test('shadow mode diagnoses and proposes but never calls a remediation tool', async () => {
  const h = await harness(writePolicy((p) => (p.autonomy.default = 'shadow')), 26);
  const handle = await incident(h, 'db-pool-exhaustion', 'payment', 'P2');
  const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
  assert.equal(final.outcome, 'shadow');
  assert.ok(final.plan && final.plan.steps.length > 0, 'a plan was proposed');
  assert.deepEqual(await actionCounts(h), {});
  const state = (await (await fetch(`${h.sim.controlUrl}/state/payment`)).json()) as { restarts: number };
  assert.equal(state.restarts, 0);
});

void test('the kill switch holds every remediation step until resume, and the hold is recorded', async () => {
  // restart is low risk under assisted autonomy: no checkpoint, straight to remediation, which must wait.
  const { h, handle, paused, resume, release } = await sagaHeldByKillSwitch(27, 'change freeze');
  try {
    assert.match(paused.pausedReason ?? '', /paused everywhere by commander@local.*change freeze/);
    assert.deepEqual(await actionCounts(h), {}, 'no action while paused');

    await resume();
    const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);
    assert.equal(final.outcome, 'remediated', final.saga?.summary);
    assert.equal(Object.keys(await actionCounts(h)).length, 1);
  } finally {
    await release();
  }
});

/**
 * A P2 db-pool-exhaustion incident on payment that needs no person, with the kill switch
 * paused (`reason`) first: its saga is held before the first step. `resume` lifts the
 * switch; `release` ends it (the switch is namespace-wide: always call it).
 */
async function sagaHeldByKillSwitch(seed: number, reason: string) {
  const h = await harness(
    writePolicy((p) => {
      p.killSwitch.pollSeconds = 1;
      p.checkpoint.confidenceThreshold = 0; // no person needed: straight to remediation
      p.checkpoint.sampleRate = 0;
    }),
    seed,
  );
  const killSwitch = h.client.workflow.getHandle(KILL_SWITCH_WORKFLOW_ID);
  const release = () => killSwitch.terminate('test over').then(() => undefined, () => undefined);
  const startWorkflowOperation = new WithStartWorkflowOperation(KILL_SWITCH_WORKFLOW, { workflowId: KILL_SWITCH_WORKFLOW_ID, taskQueue: h.config.temporal.taskQueue, workflowIdConflictPolicy: 'USE_EXISTING', args: [] });
  await h.client.workflow.executeUpdateWithStart(pauseUpdate, { args: [{ by: 'commander@local', reason }], startWorkflowOperation });
  try {
    const handle = await incident(h, 'db-pool-exhaustion', 'payment', 'P2');
    await waitForStatus(handle, (s) => s.stage === 'remediation');
    const child = h.client.workflow.getHandle(`${handle.workflowId}-remediation`);
    const paused = await pollUntil(async () => child.query(sagaStatusQuery), (s) => s.state === 'paused');
    return { h, handle, paused, release, resume: () => killSwitch.executeUpdate(resumeUpdate, { args: [{ by: 'commander@local' }] }) };
  } catch (err) {
    await release();
    throw err;
  }
}

async function pollUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await read();
      if (ok(v)) return v;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 300));
  }
}
