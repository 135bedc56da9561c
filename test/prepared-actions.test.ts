/**
 * Two-phase actions in the simulator and on the way to it: prepare validates and stages
 * without changing anything, commit acts once per key, abort releases; expired, aborted,
 * stale and unknown handles are refused clearly. Then the same over real MCP (Streamable
 * HTTP) through the tool gate, which allows only prepare and abort before the checkpoint,
 * and the prepare activity, which releases what it prepared when a later step fails.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../activities/index.js';
import { bindAllCapabilities, DEFAULT_POLICY_FILE, DEFAULT_RUNBOOKS_DIR } from '../src/config.js';
import { EvidenceStore } from '../src/evidence/evidence-store.js';
import { McpClientPool } from '../src/mcp/mcp-client-pool.js';
import { ToolGate } from '../src/mcp/tool-gate.js';
import type { PlanStep } from '../src/schemas/incident.js';
import { SimulatorError } from '../src/simulator/errors.js';
import { startSimulatorHttp } from '../src/simulator/http-server.js';
import { SimulatorModel } from '../src/simulator/model.js';
import { tempDir } from './support/temporal.js';

const T0 = 1_800_000_000;

function clockedModel(): { model: SimulatorModel; advance: (s: number) => void } {
  let now = T0;
  return { model: new SimulatorModel({ seed: 3, now: () => now, anchor: T0 }), advance: (s) => (now += s) };
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof SimulatorError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'no error';
};

void test('prepare validates and stages without changing anything; the same key returns the same handle', () => {
  const { model } = clockedModel();
  const before = model.getState('payment');
  const p = model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.0', ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' });
  assert.equal(p.status, 'prepared');
  assert.equal(p.expiresAt, T0 + 600);
  assert.equal(p.summary, 'deploy payment@2.14.0 to payment (replacing payment@2.14.1)');
  assert.equal(p.expected.release, 'payment@2.14.0');
  assert.deepEqual(model.getState('payment'), before, 'nothing changed');
  assert.deepEqual(model.callCounts(), {}, 'no action ran');
  const again = model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.0', ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' });
  assert.equal(again.handle, p.handle);
  assert.equal(again.replayed, true);
  assert.match(codeOf(() => model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.1', ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' })), /^prepared_conflict: .*already prepared another action/);
  assert.match(
    codeOf(() => model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.0', ttlSeconds: 600, idempotencyKey: 'inc-2:step-1:prepare' })),
    /^prepared_conflict: rollback of payment is already prepared as prep-1/,
    'the reservation: one open preparation per action and service',
  );
  // Invalid actions are refused at prepare, before anyone is asked to approve them.
  assert.match(codeOf(() => model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@9.9.9', ttlSeconds: 60, idempotencyKey: 'inc-1:bad:prepare' })), /^invalid_action: release "payment@9.9.9" of payment is unknown/);
  assert.match(codeOf(() => model.prepare({ service: 'payment', action: 'set_flag', flag: 'nope', enabled: false, ttlSeconds: 60, idempotencyKey: 'inc-1:bad2:prepare' })), /^invalid_action: payment has no flag "nope"/);
  assert.match(codeOf(() => model.prepare({ service: 'nowhere', action: 'restart', ttlSeconds: 60, idempotencyKey: 'inc-1:bad3:prepare' })), /^unknown_service/);
});

void test('commit acts once per key; a second key, an abort after commit and an unknown handle are refused', () => {
  const { model } = clockedModel();
  const p = model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.0', ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' });
  const done = model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' });
  assert.equal(done.replayed, false);
  assert.equal(done.after.release, 'payment@2.14.0');
  const retried = model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' });
  assert.equal(retried.replayed, true, 'a retried commit is answered from the record');
  assert.deepEqual(model.callCounts(), { 'inc-1:step-1:do': 1 });
  assert.match(codeOf(() => model.commit({ handle: p.handle, idempotencyKey: 'inc-1:other:do' })), /^prepared_not_committable: .*already committed with key inc-1:step-1:do/);
  assert.match(codeOf(() => model.abort({ handle: p.handle, reason: 'x' })), /^prepared_not_committable: .*cannot be aborted; undo it with its compensation/);
  assert.match(codeOf(() => model.commit({ handle: 'prep-404', idempotencyKey: 'inc-1:step-9:do' })), /^unknown_prepared: no prepared action has handle "prep-404"/);
  assert.deepEqual(model.abort({ handle: 'prep-404', reason: 'cleanup' }).status, 'unknown');
  const listed = model.preparedActions();
  assert.equal(listed[0]?.status, 'committed');
  assert.deepEqual(listed[0]?.requests, { prepare: 1, commit: 3, abort: 1 });
});

void test('an expired or aborted preparation is never committed, and releases its reservation', () => {
  const { model, advance } = clockedModel();
  const p = model.prepare({ service: 'payment', action: 'scale', replicas: 6, ttlSeconds: 30, idempotencyKey: 'inc-1:step-1:prepare' });
  advance(31);
  assert.match(codeOf(() => model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' })), /^prepared_not_committable: prepared action prep-1.* expired at .*prepare again/);
  assert.equal(model.getState('payment').replicas, 3, 'nothing changed');
  assert.equal(model.abort({ handle: p.handle, reason: 'expired' }).status, 'expired');
  // The reservation lapsed with it: a new preparation is allowed, then aborted.
  const q = model.prepare({ service: 'payment', action: 'scale', replicas: 6, ttlSeconds: 30, idempotencyKey: 'inc-1:step-1:prepare-2' });
  const a = model.abort({ handle: q.handle, reason: 'rejected by oncall@local' });
  assert.deepEqual([a.status, a.replayed], ['aborted', false]);
  assert.deepEqual([model.abort({ handle: q.handle, reason: 'again' }).status, model.abort({ handle: q.handle, reason: 'again' }).replayed], ['aborted', true], 'abort is idempotent');
  assert.match(codeOf(() => model.commit({ handle: q.handle, idempotencyKey: 'inc-1:step-1:do' })), /^prepared_not_committable: .*was aborted \(rejected by oncall@local\)/);
  assert.deepEqual(model.callCounts(), {});
});

void test('a stale preparation (the release it was validated against changed) is refused at commit', () => {
  const { model } = clockedModel();
  const p = model.prepare({ service: 'payment', action: 'rollback', toRelease: 'payment@2.14.0', ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' });
  model.rollback('payment', 'payment@2.14.0', 'someone-else:deploy'); // another actor deployed meanwhile
  assert.match(codeOf(() => model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' })), /^prepared_stale: prepared action prep-1-payment-rollback is stale: payment runs payment@2.14.0, not payment@2.14.1/);
  assert.equal(model.callCounts()['inc-1:step-1:do'], undefined);
});

void test("a fault's failStep fails the commit (the action), not the prepare", () => {
  const { model } = clockedModel();
  model.inject({ kind: 'bad-release', service: 'payment', failStep: 1 });
  const prev = model.getState('payment').previousRelease ?? '';
  const p = model.prepare({ service: 'payment', action: 'rollback', toRelease: prev, ttlSeconds: 600, idempotencyKey: 'inc-1:step-1:prepare' });
  assert.match(codeOf(() => model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' })), /^injected_failure: remediation step 1 failed/);
  assert.match(codeOf(() => model.commit({ handle: p.handle, idempotencyKey: 'inc-1:step-1:do' })), /^injected_failure/, 'sticky for the key');
});

void test('over MCP through the tool gate: before the checkpoint only prepare and abort pass; commit needs the remediation stage', async () => {
  const model = new SimulatorModel({ seed: 5 });
  const http = await startSimulatorHttp({ model });
  const pool = new McpClientPool([{ name: 'simulator', transport: 'http', url: http.mcpUrl, headers: {} }]);
  after(async () => {
    await pool.close();
    await http.close();
  });
  const gate = new ToolGate({ servers: [], capabilities: bindAllCapabilities('simulator') } as never, pool, new EvidenceStore(tempDir('evidence')));
  const prep = { incidentId: 'inc-gate', stage: 'preparation' as const };
  const p = await gate.call('remediation.prepare', { service: 'payment', action: 'set_flag', flag: 'retry-on-decline', enabled: false, ttlSeconds: 120, idempotencyKey: 'inc-gate:step-1:prepare' }, prep);
  assert.equal(p.summary, 'set flag retry-on-decline of payment from true to false');
  const refused = async (cap: 'remediation.commit' | 'remediation.set_flag', args: Record<string, unknown>) =>
    gate.call(cap, args as never, prep).then(
      () => 'allowed',
      (err: unknown) => (err instanceof ApplicationFailure ? `${err.type ?? ''}: ${err.message}` : String(err)),
    );
  assert.equal(await refused('remediation.commit', { handle: p.handle, idempotencyKey: 'inc-gate:step-1:do' }), 'ToolNotAllowed: remediation.commit is not allowed during preparation');
  assert.equal(await refused('remediation.set_flag', { service: 'payment', flag: 'retry-on-decline', enabled: false, idempotencyKey: 'inc-gate:x:do' }), 'ToolNotAllowed: remediation.set_flag is not allowed during preparation');
  assert.equal(model.getState('payment').flags['retry-on-decline'], true, 'nothing changed before the checkpoint');
  const done = await gate.call('remediation.commit', { handle: p.handle, idempotencyKey: 'inc-gate:step-1:do' }, { incidentId: 'inc-gate', stage: 'remediation' });
  assert.equal(done.after.flags['retry-on-decline'], false);
  // A commit of a handle nobody prepared fails clearly and is not retried.
  const unknown = await gate.call('remediation.commit', { handle: 'prep-77', idempotencyKey: 'inc-gate:step-2:do' }, { incidentId: 'inc-gate', stage: 'remediation' }).catch((e: unknown) => e);
  assert.ok(unknown instanceof ApplicationFailure);
  assert.equal(unknown.nonRetryable, true);
  assert.match(unknown.message, /unknown_prepared: no prepared action has handle "prep-77"/);
  const control = (await (await fetch(`${http.controlUrl}/prepared`)).json()) as { prepared: { handle: string; status: string; requests: Record<string, number> }[] };
  assert.deepEqual(control.prepared.map((x) => [x.handle, x.status, x.requests]), [[p.handle, 'committed', { prepare: 1, commit: 1, abort: 0 }]]);
});

void test('the prepare activity releases what it prepared when a later step cannot be prepared', async () => {
  const model = new SimulatorModel({ seed: 6 });
  const http = await startSimulatorHttp({ model });
  const pool = new McpClientPool([{ name: 'simulator', transport: 'http', url: http.mcpUrl, headers: {} }]);
  after(async () => {
    await pool.close();
    await http.close();
  });
  const evidence = new EvidenceStore(tempDir('evidence'));
  const acts = createActivities({
    gate: new ToolGate({ servers: [], capabilities: bindAllCapabilities('simulator') } as never, pool, evidence),
    evidence,
    policyFile: DEFAULT_POLICY_FILE,
    runbooksDir: DEFAULT_RUNBOOKS_DIR,
    reportsDir: join(tempDir('reports'), 'reports'),
    settings: {},
    readKillSwitch: () => Promise.resolve(null),
  });
  const step = (id: string, action: PlanStep['action'], params: PlanStep['params']): PlanStep => ({ id, action, service: 'payment', description: `${action} payment`, risk: 'high', params, compensation: '-', twoPhase: true });
  const steps = [step('step-1', 'rollback', { toRelease: 'payment@2.14.0' }), step('step-2', 'set_flag', { flag: 'no-such-flag', enabled: false })];
  const keys = { 'step-1': 'inc-act:step-1:prepare-1', 'step-2': 'inc-act:step-2:prepare-1' };
  const err = await acts.prepareSteps({ incidentId: 'inc-act', steps, keys, ttlSeconds: 300, stage: 'preparation' }).catch((e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.type, 'PrepareFailed');
  assert.match(err.message, /prepare of step-2 \(set_flag payment\) failed: .*has no flag "no-such-flag".*released: step-1 aborted/);
  assert.deepEqual(model.preparedActions().map((p) => [p.action, p.status]), [['rollback', 'aborted']]);

  // A good pair: both prepared, one digest over what the commits will do.
  const ok = await acts.prepareSteps({
    incidentId: 'inc-act',
    steps: [step('step-1', 'rollback', { toRelease: 'payment@2.14.0' }), step('step-2', 'scale', { replicas: 5 })],
    keys: { 'step-1': 'inc-act:step-1:prepare-2', 'step-2': 'inc-act:step-2:prepare-2' },
    ttlSeconds: 300,
    stage: 'preparation',
  });
  assert.deepEqual(ok.prepared.map((p) => p.stepId), ['step-1', 'step-2']);
  assert.match(ok.digest, /^[0-9a-f]{64}$/);
  const released = await acts.abortPrepared({ incidentId: 'inc-act', prepared: ok.prepared, reason: 'rejected', stage: 'preparation' });
  assert.deepEqual(released.map((r) => [r.stepId, r.status]), [['step-1', 'aborted'], ['step-2', 'aborted']]);
  assert.deepEqual(model.callCounts(), {}, 'nothing was ever committed');
});
