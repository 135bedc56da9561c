/**
 * The incident workflow end to end on the real Temporal dev server, with the simulator
 * over Streamable HTTP MCP and alerts posted through the ingest HTTP API.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportIncident } from '../src/audit/export-incident.js';
import { JsonlAuditStore } from '../src/audit/jsonl-audit-store.js';
import { after, before, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { decideUpdate } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';

installTemporalRuntime();
let h: IncidentHarness;
before(async () => {
  h = await startIncidentHarness({ seed: 11 });
});
after(async () => {
  await h.close();
});

void test('a P0 bad release waits for the incident commander, refuses others, then is rolled back and verified', async () => {
  const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'bad-release', service: 'payment', severity: 'P0' });
  const handle = h.client.workflow.getHandle(sim.incidentId);
  const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint');

  assert.equal(waiting.severity, 'P0');
  assert.deepEqual(waiting.checkpoint?.allowedRoles, ['incident-commander']);
  assert.equal(waiting.candidates[0]?.service, 'payment', 'the injected service ranks first');
  assert.ok(waiting.plan && waiting.plan.steps.length > 0);
  assert.equal(waiting.plan.steps[0]?.action, 'rollback');
  const before = await (await fetch(`${h.sim.controlUrl}/state/payment`)).json() as { release: string; previousRelease: string };

  const decide = (actor: string, planDigest: string | undefined) =>
    handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor, ...(planDigest ? { planDigest } : {}) }] });
  await assert.rejects(decide('oncall@local', waiting.checkpoint?.bindingDigest ?? ''), (err: unknown) => err instanceof WorkflowUpdateFailedError && /incident-commander/.test(String((err.cause as Error)?.message)));
  await assert.rejects(decide('mallory@evil', waiting.checkpoint?.bindingDigest ?? ''), (err: unknown) => err instanceof WorkflowUpdateFailedError && /not an approver/.test(String((err.cause as Error)?.message)));
  await assert.rejects(decide('commander@local', 'a-digest-of-another-plan'), (err: unknown) => err instanceof WorkflowUpdateFailedError && /changed/.test(String((err.cause as Error)?.message)));
  const stillWaiting = await waitForStatus(handle, () => true);
  assert.equal(stillWaiting.stage, 'checkpoint', 'refused decisions change nothing');
  assert.equal(stillWaiting.decisions.length, 0, 'refused updates never enter history as decisions');

  const rec = await decide('commander@local', waiting.checkpoint?.bindingDigest ?? '');
  assert.equal(rec.role, 'incident-commander');
  const final: IncidentStatus = await incidentResult(h.client, handle.workflowId);

  assert.equal(final.outcome, 'remediated', final.saga?.summary);
  assert.equal(final.verification?.recovered, true);
  const done = final.saga?.actions.filter((a) => a.phase === 'do') ?? [];
  assert.equal(done.length, 1);
  const after = await (await fetch(`${h.sim.controlUrl}/state/payment`)).json() as { release: string };
  assert.equal(after.release, before.previousRelease, 'the simulator runs the previous release');
  const counts = await (await fetch(`${h.sim.controlUrl}/action-counts`)).json() as { callCounts: Record<string, number> };
  for (const a of done) assert.equal(counts.callCounts[a.idempotencyKey], 1, 'each action performed once');

  assert.ok(final.report && existsSync(final.report.markdownPath) && existsSync(final.report.jsonPath));
  const md = readFileSync(final.report.markdownPath, 'utf8');
  assert.match(md, /Root cause:\*\* payment/);
  assert.match(md, /commander@local \(incident-commander\): approve/);

  // Proof of action: the audit log holds every significant step, in a chain that verifies.
  const store = new JsonlAuditStore(join(h.config.dataDir, 'audit.jsonl'));
  try {
    assert.deepEqual(await store.verify().then((v) => v.ok), true);
    const kinds: string[] = [];
    for await (const r of store.records({ incidentId: sim.incidentId })) kinds.push(r.packet.kind);
    for (const k of ['diagnosis', 'checkpoint-decision', 'remediation-action', 'verification']) assert.ok(kinds.includes(k), `audit has a ${k} packet (has ${kinds.join(', ')})`);
    const exported = await exportIncident(store, sim.incidentId);
    const action = exported.records.find((p) => p.packet.kind === 'remediation-action')?.packet;
    assert.equal(action?.action?.kind, 'rollback');
    assert.match(action?.compensation?.description ?? '', /roll payment forward/);
  } finally {
    await store.close();
  }
});

void test('an incident whose only alert resolves before diagnosis closes as auto-resolved', async () => {
  const { incidentIdFor } = await import('../src/temporal/temporal-alert-sink.js');
  const groupKey = `{}:{alertname="Flap", service="cart", t="${Date.now()}"}`;
  const alert = { fingerprint: 'abcdef0123456789', labels: { alertname: 'Flap', service: 'cart', severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), source: 'test' };
  const handle = await h.client.workflow.signalWithStart('IncidentWorkflow', {
    workflowId: incidentIdFor(groupKey),
    taskQueue: h.config.temporal.taskQueue,
    args: [{ incidentId: incidentIdFor(groupKey), groupKey, alerts: [], settings: { groupWaitSeconds: 2 } }],
    signal: 'alerts',
    signalArgs: [{ groupKey, deliveryId: 'd1', alerts: [{ ...alert, status: 'firing' }] }],
  });
  await handle.signal('alerts', { groupKey, deliveryId: 'd2', alerts: [{ ...alert, status: 'resolved', endsAt: new Date().toISOString() }] });
  const final = (await handle.result()) as IncidentStatus;
  assert.equal(final.outcome, 'auto-resolved');
  assert.equal(final.alerts[0]?.status, 'resolved');
  assert.equal(final.candidates.length, 0, 'no diagnosis ran');
});
