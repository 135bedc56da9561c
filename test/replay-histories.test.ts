/**
 * The recorded incident histories (test/histories/, one per path: auto-resolved,
 * auto-remediated, approved, rejected, overridden, escalated, compensated, shadow, with
 * their child workflows) replay against the current workflow code, so a change that would
 * break running incidents fails here; a changed workflow is reported with the event where
 * it diverges; and `vigil replay` reads the decision timeline from the histories alone.
 * `alert-group-before-audit.json` is an alert group under a routing lease recorded before
 * AUDIT_LEASED_TARGETS_PATCH (scripts/record-group-history.ts at 9fd7365): groups running
 * since then must still replay.
 *
 * Re-record with `node --import tsx scripts/record-histories.ts` when workflow code
 * changes on purpose (guarded by patched() for incidents already running).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { decisionTimeline } from '../src/replay-history/decision-timeline.js';
import { eventViews } from '../src/replay-history/history-events.js';
import { historyToJson, readHistoryFile } from '../src/replay-history/history-json.js';
import {
  historyFilesIn,
  installQuietRuntime,
  loadWorkflowCode,
  locateDivergence,
  readHistoryFiles,
  replayHistories,
  targetsOf,
} from '../src/replay-history/replay-histories.js';
import type { Alert } from '../src/schemas/alert.js';
import { WORKFLOWS_PATH } from '../src/worker/create-worker.js';
import { alertsSignal, INCIDENT_WORKFLOW } from '../workflows/messages.js';
import { tempDir, testClient } from './support/temporal.js';

installQuietRuntime();

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const CHANGED_WORKFLOW = fileURLToPath(new URL('./support/changed-incident-workflow.ts', import.meta.url));
const PATHS = ['auto-resolved', 'auto-remediated', 'approved', 'rejected', 'overridden', 'escalated', 'compensated', 'shadow', 'two-phase-approved', 'two-phase-rejected'];
const bundlePath = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
let current: { code: string };

before(async () => {
  current = await loadWorkflowCode(bundlePath ? { bundlePath } : { workflowsPath: WORKFLOWS_PATH });
});

const file = (name: string) => join(HISTORIES, name);

function vigil(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', env: { ...process.env, VIGIL_DATA_DIR: tempDir('replay-cli') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test('every recorded path is there, with the remediation child where one ran', () => {
  const names = new Set(historyFilesIn(HISTORIES).map((p) => p.slice(HISTORIES.length)));
  for (const p of PATHS) assert.ok(names.has(`${p}.json`), `test/histories/${p}.json is missing: run scripts/record-histories.ts`);
  for (const p of ['auto-remediated', 'approved', 'overridden', 'compensated', 'two-phase-approved']) assert.ok(names.has(`${p}.remediation.json`), `${p}.remediation.json`);
});

void test('every recorded history replays against the current workflow code', async () => {
  const { files, unreadable } = readHistoryFiles(historyFilesIn(HISTORIES));
  assert.deepEqual(unreadable, []);
  const outcomes = await replayHistories(current, targetsOf(files));
  const failed = outcomes.filter((o) => !o.ok);
  assert.equal(
    failed.length,
    0,
    `histories that no longer replay (a workflow change would break incidents running now: guard it with patched(), then re-record):\n${failed
      .map((o) => `  test/histories/${o.name}: event ${o.failure?.eventId ?? '?'} (${o.failure?.eventType ?? '?'}): ${o.failure?.message ?? ''}`)
      .join('\n')}`,
  );
  assert.equal(outcomes.length, files.length);
});

void test('a changed workflow is reported as a determinism error at the event where it diverges', async () => {
  const history = readHistoryFile(file('auto-remediated.json'));
  const timer = eventViews(history).find((e) => e.type === 'TimerStarted');
  assert.ok(timer, 'the recorded incident waited for its group (a timer)');
  const changed = await loadWorkflowCode({ workflowsPath: CHANGED_WORKFLOW });
  const [outcome] = await replayHistories(changed, [{ name: 'auto-remediated.json', history, workflowId: 'recorded-auto-remediated' }]);
  assert.equal(outcome?.ok, false);
  assert.equal(outcome?.failure?.kind, 'nondeterminism');
  assert.equal(outcome?.failure?.eventId, timer.id, outcome?.failure?.message);
  assert.equal(outcome?.failure?.eventType, 'TimerStarted');
  // Without the event in the message, bisecting the history finds the same one.
  assert.deepEqual(await locateDivergence(changed, { history, workflowId: 'recorded-auto-remediated' }), { eventId: timer.id, eventType: 'TimerStarted' });
});

void test("one path's history replayed as another workflow type is reported with an event id", async () => {
  const history = readHistoryFile(file('compensated.remediation.json'));
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  assert.ok(started?.workflowType);
  started.workflowType.name = 'IncidentWorkflow';
  const [outcome] = await replayHistories(current, [{ name: 'saga-as-incident', history, workflowId: 'x' }]);
  assert.equal(outcome?.ok, false);
  assert.ok(outcome?.failure?.eventId && outcome.failure.eventId > 1, JSON.stringify(outcome?.failure));
});

void test('`vigil replay <dir>` summarizes, and exits 1 naming the file and event that fail', () => {
  const args = bundlePath ? ['--bundle', bundlePath] : [];
  const dir = tempDir('histories');
  for (const p of ['approved.json', 'approved.remediation.json', 'auto-resolved.json']) copyFileSync(file(p), join(dir, p));
  const ok = vigil(['replay', dir, ...args]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /3 of 3 histories replay/);

  // A saga history renamed as an incident cannot replay.
  const broken = readHistoryFile(file('approved.remediation.json'));
  const attrs = broken.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (attrs?.workflowType) attrs.workflowType.name = 'IncidentWorkflow';
  writeFileSync(join(dir, 'broken.json'), JSON.stringify(historyToJson(broken)));
  const bad = vigil(['replay', dir, '--json', ...args]);
  assert.equal(bad.status, 1, bad.stderr);
  const report = JSON.parse(bad.stdout) as { ok: number; failed: number; results: { name: string; ok: boolean; failure?: { eventId?: number } }[] };
  assert.equal(report.failed, 1);
  const failure = report.results.find((r) => !r.ok);
  assert.equal(failure?.name, 'broken.json');
  assert.ok(failure?.failure?.eventId, 'the event is named');
});

void test('the timeline of an approved incident: who approved, what ran, verified, with times', () => {
  const tl = decisionTimeline(readHistoryFile(file('approved.json')), { children: new Map([['recorded-approved-remediation', readHistoryFile(file('approved.remediation.json'))]]) });
  assert.equal(tl.status, 'completed');
  assert.equal(tl.outcome, 'remediated');
  assert.equal(tl.checkpoint.required, true);
  assert.deepEqual(tl.evidence.map((e) => e.source).sort(), ['logs', 'metrics', 'topology', 'traces']);
  assert.ok(tl.ranking.length > 0 && tl.rootCause);
  assert.deepEqual(
    tl.decisions.map((d) => [d.kind, d.actor, d.role, d.accepted]),
    [['approve', 'oncall@local', 'sre', true]],
  );
  assert.deepEqual(tl.actions.map((a) => [a.stepId, a.action, a.ok]), [['step-1', 'restart', true]]);
  assert.equal(tl.verification?.recovered, true);
  const stages = tl.entries.map((e) => e.stage);
  for (const s of ['intake', 'analysis', 'ranking', 'inference', 'planning', 'checkpoint', 'remediation', 'verification', 'report', 'closed']) assert.ok(stages.includes(s), `stage ${s}`);
  assert.ok(tl.entries.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.at) && e.eventId > 0));
});

void test('the timeline of a compensated incident shows the failed step and the undo', () => {
  const tl = decisionTimeline(readHistoryFile(file('compensated.json')));
  assert.equal(tl.outcome, 'remediation-failed');
  assert.equal(tl.checkpoint.required, false);
  assert.deepEqual(tl.actions.map((a) => [a.stepId, a.action, a.ok]), [['step-1', 'scale', true], ['step-2', 'restart', false]]);
  assert.deepEqual(tl.compensations.map((a) => [a.stepId, a.action, a.ok]), [['step-1', 'scale', true]]);
});

void test('rejected, overridden and escalated incidents: the decisions and the escalation are in the timeline', () => {
  const rejected = decisionTimeline(readHistoryFile(file('rejected.json')));
  assert.deepEqual(rejected.decisions.map((d) => [d.kind, d.actor, d.reason]), [['reject', 'oncall@local', 'a deploy is in progress']]);
  assert.deepEqual(rejected.actions, []);
  const overridden = decisionTimeline(readHistoryFile(file('overridden.json')));
  assert.deepEqual(overridden.decisions.map((d) => [d.kind, d.rootCauseService]), [['override', 'payment']]);
  assert.ok(overridden.entries.some((e) => /no checkpoint/.test(e.what)), 'the re-planned remediation needed nobody');
  const escalated = decisionTimeline(readHistoryFile(file('escalated.json')));
  assert.equal(escalated.outcome, 'escalated-no-decision');
  assert.deepEqual(escalated.decisions, []);
  assert.ok(escalated.entries.filter((e) => /^escalation:/.test(e.what)).length >= 2);
  assert.equal(decisionTimeline(readHistoryFile(file('shadow.json'))).outcome, 'shadow');
});

void test('a running incident (no result yet) has a timeline up to where it waits', () => {
  const full = readHistoryFile(file('approved.json'));
  const views = eventViews(full);
  const waiting = views.find((e) => e.type === 'TimerStarted' && views.some((p) => p.type === 'ActivityTaskCompleted' && p.id < e.id && views.some((s) => s.type === 'ActivityTaskScheduled' && s.id < p.id && (s.attrs['activityType'] as { name?: string }).name === 'planRemediation')));
  assert.ok(waiting, 'the approved incident waited at the checkpoint');
  const running = { events: (full.events ?? []).slice(0, waiting.id) };
  const tl = decisionTimeline(running);
  assert.equal(tl.status, 'running');
  assert.equal(tl.outcome, undefined);
  assert.equal(tl.checkpoint.required, true);
  assert.ok(tl.plan && tl.rootCause);
  assert.deepEqual(tl.decisions, []);
});

void test('`vigil replay <file>` replays the file with its children and prints the timeline', () => {
  const r = vigil(['replay', file('compensated.json'), ...(bundlePath ? ['--bundle', bundlePath] : [])]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^ok\s+compensated\.json \(IncidentWorkflow/m);
  assert.match(r.stdout, /^ok\s+recorded-compensated-remediation \(RemediationSagaWorkflow/m);
  assert.match(r.stdout, /compensated \S+ undid step-1 scale payment: ok/);
  assert.match(r.stdout, /timeline:/);
});

void test('`vigil replay <workflow-id>` fetches the history from the server (here: an incident no worker has picked up yet)', async () => {
  const { client, connection } = await testClient();
  const id = `replay-fetch-${randomUUID()}`;
  const alert: Alert = { fingerprint: 'f1', status: 'firing', labels: { alertname: 'HighErrorRate', service: 'payment', severity: 'p2' }, annotations: {}, startsAt: new Date().toISOString(), source: 'test' };
  await client.workflow.signalWithStart(INCIDENT_WORKFLOW, { workflowId: id, taskQueue: `nobody-${id}`, args: [{ incidentId: id, groupKey: 'g', alerts: [] }], signal: alertsSignal, signalArgs: [{ groupKey: 'g', deliveryId: 'd1', alerts: [alert] }] });
  try {
    const r = spawnSync(process.execPath, ['bin/vigil.js', 'replay', id, '--json', ...(bundlePath ? ['--bundle', bundlePath] : [])], { encoding: 'utf8', env: { ...process.env, VIGIL_DATA_DIR: tempDir('replay-cli') } });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as { replay: { ok: boolean; workflowId: string }[]; timeline: { status: string; alerts: { service?: string }[] } };
    assert.deepEqual(out.replay.map((o) => [o.workflowId, o.ok]), [[id, true]]);
    assert.equal(out.timeline.status, 'running');
    assert.deepEqual(out.timeline.alerts.map((a) => a.service), ['payment']);
    const missing = spawnSync(process.execPath, ['bin/vigil.js', 'replay', `no-such-${id}`], { encoding: 'utf8', env: { ...process.env, VIGIL_DATA_DIR: tempDir('replay-cli') } });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no workflow "no-such-/);
  } finally {
    await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await connection.close();
  }
});
