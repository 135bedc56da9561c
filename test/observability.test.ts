/**
 * Observability: incident metrics from final statuses, SLI drift (verdicts, webhooks,
 * gauges), secrets redacted from logs, activity logs carrying incident and workflow ids,
 * and, end to end, one real incident scraped from the worker's /metrics with an
 * OpenTelemetry span recorded for its activities.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Context as ActivityContext } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import { createLogger } from '../src/logger.js';
import { activityLogger, activityLoggingInterceptor } from '../src/observability/activity-logging.js';
import { DriftConfig, ObservabilityConfig } from '../src/observability/config.js';
import { detectDrift, type SliSample } from '../src/observability/drift.js';
import { DriftMonitor } from '../src/observability/drift-monitor.js';
import { IncidentMetrics } from '../src/observability/incident-metrics.js';
import { computeIncidentSlis } from '../src/observability/incident-slis.js';
import { createTracing } from '../src/observability/tracing.js';
import { IncidentStatus, type RecordedDecision } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { createVigilWorker } from '../src/worker/create-worker.js';
import { decideUpdate } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';

installTemporalRuntime();

// ---------- fixtures ----------

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function alert(alertname: string, source: string, n = 0): IncidentStatus['alerts'][number] {
  return { fingerprint: `${alertname}-${n}`, status: 'firing', labels: { alertname, service: 'payment' }, annotations: {}, startsAt: at(-60), source };
}

function decision(kind: RecordedDecision['kind'], second: number, accepted = true): RecordedDecision {
  return { kind, actor: accepted ? 'commander@local' : 'mallory@evil', at: at(second), accepted, policyVersion: 'v1', ...(accepted ? {} : { refusal: 'not an approver' }) };
}

/** A final status; parsed, so fields other work adds with defaults stay filled in. */
function status(p: Partial<IncidentStatus> & Pick<IncidentStatus, 'incidentId'>): IncidentStatus {
  return IncidentStatus.parse({
    stage: 'closed',
    severity: 'P3',
    title: 't',
    alerts: [alert('HighErrorRate', 'alertmanager')],
    evidence: [],
    missingSources: [],
    topologyServices: [],
    candidates: [],
    history: null,
    inference: null,
    rootCause: null,
    plan: null,
    checkpoint: null,
    decisions: [],
    saga: null,
    verification: null,
    outcome: null,
    policyVersion: 'v1',
    timeline: [],
    report: null,
    ...p,
  });
}

const diagnosedTimeline = (diagnosisAt: number): IncidentStatus['timeline'] => [
  { at: at(0), stage: 'intake', note: '2 alert(s) received' },
  { at: at(30), stage: 'analysis', note: 'analysing' },
  { at: at(60), stage: 'inference', note: 'inferring' },
  { at: at(diagnosisAt), stage: 'planning', note: 'planning remediation for payment' },
];

const saga = (outcome: NonNullable<IncidentStatus['saga']>['outcome'], undo: boolean): IncidentStatus['saga'] => ({
  outcome,
  actions: [
    { stepId: 'step-1', action: 'rollback', service: 'payment', phase: 'do', idempotencyKey: 'k1', ok: true, at: at(400) },
    ...(undo ? [{ stepId: 'step-1', action: 'rollback' as const, service: 'payment', phase: 'undo' as const, idempotencyKey: 'k1u', ok: true, at: at(500) }] : []),
  ],
  remainingUndo: [],
  summary: outcome,
});

/** P0, approved after 3 minutes at the checkpoint (one refused attempt first), remediated; an LLM was asked. */
const approvedRemediated = status({
  incidentId: 'inc-a',
  severity: 'P0',
  alerts: [alert('HighErrorRate', 'alertmanager', 0), alert('HighErrorRate', 'alertmanager', 1)],
  timeline: [
    ...diagnosedTimeline(120),
    { at: at(125), stage: 'checkpoint', note: 'waiting for incident-commander' },
    { at: at(305), stage: 'checkpoint', note: 'approved by commander@local' },
    { at: at(305), stage: 'remediation', note: 'roll back payment' },
    { at: at(420), stage: 'report', note: 'done' },
    { at: at(421), stage: 'closed', note: 'remediated' },
  ],
  decisions: [decision('approve', 200, false), decision('approve', 305)],
  inference: {
    reasoner: 'gpt-x',
    rootCause: { service: 'payment' },
    confidence: 0.9,
    reasoning: [],
    evidenceRefs: [],
    decidedBy: 'llm+builtin',
    handOff: false,
    notes: [],
    llm: { provider: 'openai', model: 'gpt-x', promptVersion: 'p1', calls: [], builtin: { service: 'payment', confidence: 0.8 }, tokens: { used: 3000, budget: 20_000, thisInference: 3000 } },
  },
  saga: saga('completed', false),
  outcome: 'remediated',
});

/** P2 from a generic source: overridden, escalated, remediation did not recover and was compensated; no baseline for its type. */
const overriddenCompensated = status({
  incidentId: 'inc-b',
  severity: 'P2',
  alerts: [alert('DbPoolExhausted', 'generic')],
  timeline: [
    ...diagnosedTimeline(90),
    { at: at(95), stage: 'checkpoint', note: 'waiting for sre' },
    { at: at(395), stage: 'checkpoint', note: 'no decision: escalated to incident-commander (level 2 of 2)' },
    { at: at(400), stage: 'planning', note: 'planning remediation for inventory' },
    { at: at(401), stage: 'checkpoint', note: 'waiting for sre' },
    { at: at(461), stage: 'remediation', note: 'restart inventory' },
    { at: at(600), stage: 'report', note: 'not recovered' },
  ],
  decisions: [{ ...decision('override', 400), rootCauseService: 'inventory' }, decision('approve', 461)],
  checkpoint: { required: true, reasons: [], allowedRoles: ['sre'], uncertain: false, escalationLevel: 1, stepsNeedingApproval: [] },
  saga: saga('not-recovered-compensated', true),
  outcome: 'not-recovered-rolled-back',
});

/** P1 taken over by a person: fully manual, nothing saved. */
const takenOver = status({
  incidentId: 'inc-c',
  severity: 'P1',
  timeline: [...diagnosedTimeline(100), { at: at(110), stage: 'checkpoint', note: 'waiting' }, { at: at(200), stage: 'report', note: 'took over' }],
  decisions: [decision('takeover', 200)],
  outcome: 'manual-takeover',
});

const autoResolved = status({ incidentId: 'inc-d', timeline: [{ at: at(0), stage: 'intake', note: '' }, { at: at(5), stage: 'report', note: '' }], outcome: 'auto-resolved' });

const VALUE = ObservabilityConfig.parse({ llmPricePer1kTokens: 0.002, value: { baselineMinutes: { HighErrorRate: 60 } } });

function series(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// ---------- incident metrics ----------

void test('incident metrics after incidents with known outcomes: counts, timings, rates, tokens, refusals and minutes saved', () => {
  const metrics = new IncidentMetrics(VALUE);
  metrics.observeStarted();
  metrics.observeStarted();
  for (const s of [approvedRemediated, overriddenCompensated, takenOver, autoResolved]) metrics.observeClosed(s, s === approvedRemediated ? { toolCalls: [{ capability: 'metrics.query_range' }, { capability: 'metrics.query_range' }, { capability: 'remediation.restart', errorType: 'ToolNotAllowed' }] } : {});
  const text = metrics.render();
  const expect = (name: string, value: number) => assert.equal(series(text, name), value, `${name} in\n${text}`);

  expect('vigil_incidents_started_total', 2);
  expect('vigil_incidents_closed_total{severity="P0",source="alertmanager",outcome="remediated"}', 1);
  expect('vigil_incidents_closed_total{severity="P2",source="generic",outcome="not-recovered-rolled-back"}', 1);
  expect('vigil_incidents_closed_total{severity="P3",source="alertmanager",outcome="auto-resolved"}', 1);
  expect('vigil_incident_alerts_total{source="alertmanager"}', 4);
  expect('vigil_alerts_merged_total{source="alertmanager"}', 1);
  // Diagnosis 120 s after the opening: in the 120 bucket, not the 60 one.
  expect('vigil_incident_diagnosis_seconds_bucket{severity="P0",le="60"}', 0);
  expect('vigil_incident_diagnosis_seconds_bucket{severity="P0",le="120"}', 1);
  expect('vigil_incident_diagnosis_seconds_sum{severity="P0"}', 120);
  // Waiting: 180 s for the P0; 305 + 60 s over the P2's two checkpoints.
  expect('vigil_incident_approval_wait_seconds_sum{severity="P0"}', 180);
  expect('vigil_incident_approval_wait_seconds_sum{severity="P2"}', 365);
  expect('vigil_incidents_manual_intervention_total{severity="P0"}', 1);
  expect('vigil_incidents_manual_intervention_total{severity="P1"}', 1);
  expect('vigil_incidents_escalated_total{severity="P2"}', 1);
  expect('vigil_incidents_overridden_total{severity="P2"}', 1);
  assert.equal(series(text, 'vigil_incidents_overridden_total{severity="P0"}'), undefined);
  expect('vigil_remediations_total{outcome="completed"}', 1);
  expect('vigil_remediations_total{outcome="not-recovered-compensated"}', 1);
  expect('vigil_remediations_compensated_total', 1);
  expect('vigil_compensation_actions_total{result="ok"}', 1);
  expect('vigil_incident_tool_calls_count', 1);
  expect('vigil_incident_tool_calls_sum', 3);
  expect('vigil_tool_calls_total{capability="metrics.query_range",result="ok"}', 2);
  expect('vigil_llm_tokens_total{model="gpt-x"}', 3000);
  expect('vigil_llm_cost_total{model="gpt-x"}', 0.006);
  expect('vigil_incident_llm_tokens_sum', 3000);
  expect('vigil_policy_refusals_total{source="checkpoint",kind="approve"}', 1);
  expect('vigil_policy_refusals_total{source="tool-gate",kind="remediation.restart"}', 1);
  // Value: 60 min baseline each; the P0 needed 3 person-minutes, the takeover all 60.
  expect('vigil_engineer_minutes_baseline_total{type="HighErrorRate"}', 120);
  expect('vigil_engineer_minutes_spent_total{type="HighErrorRate"}', 63);
  expect('vigil_engineer_minutes_saved_total{type="HighErrorRate"}', 57);
  expect('vigil_incidents_without_baseline_total{type="DbPoolExhausted"}', 1);
  assert.ok(!text.includes('type="unknown"'), 'the auto-resolved incident is not measured');
  assert.match(text, /# TYPE vigil_sli_drift gauge/);
});

void test('SLIs of one incident: an approval outside the checkpoint window does not count as person time', () => {
  const s = computeIncidentSlis(
    { ...approvedRemediated, decisions: [decision('approve', 1000)] },
    VALUE.value,
  );
  assert.equal(s.minutes?.person, 0);
  assert.equal(s.minutes?.saved, 60);
  assert.equal(s.type, 'HighErrorRate');
  assert.deepEqual(s.sliValues, { override_rate: 0, escalation_rate: 0, manual_intervention_rate: 1, compensation_rate: 0, remediation_failure_rate: 0 });
});

// ---------- drift ----------

const DRIFT = DriftConfig.parse({ baselineSeconds: 1000, recentSeconds: 100, minSamples: 20, defaultRule: { relativeChange: 0.5, absoluteChange: 0.1 } });
const NOW = 10_000;
function samples(count: number, ones: number, start: number, sli: 'override_rate' = 'override_rate'): SliSample[] {
  return Array.from({ length: count }, (_, i) => ({ at: start + i, values: { [sli]: i < ones ? 1 : 0 } }));
}

void test('drift fires only beyond the threshold, in the configured direction, and with enough samples in both windows', () => {
  const baseline = samples(20, 1, NOW - 600); // 5%
  const verdict = (recent: SliSample[], cfg = DRIFT) => detectDrift([...baseline, ...recent], cfg, NOW, ['override_rate'])[0];

  const beyond = verdict(samples(20, 10, NOW - 50)); // 50%
  assert.equal(beyond?.drifted, true, beyond?.reason);
  assert.equal(beyond?.baseline.value, 0.05);
  assert.equal(beyond?.recent.value, 0.5);
  assert.ok(Math.abs((beyond?.relativeChange ?? 0) - 9) < 1e-9);

  const few = verdict(samples(19, 10, NOW - 50));
  assert.equal(few?.drifted, false);
  assert.match(few?.reason ?? '', /insufficient samples/);

  const within = verdict(samples(20, 2, NOW - 50)); // 10%: doubled, but only +5 points (< absoluteChange 0.1)
  assert.equal(within?.drifted, false);
  assert.equal(within?.reason, 'within threshold');

  const improving = detectDrift([...samples(20, 10, NOW - 600), ...samples(20, 0, NOW - 50)], DRIFT, NOW, ['override_rate'])[0];
  assert.equal(improving?.drifted, false, 'a falling override rate is not an alert by default');
  const both = detectDrift([...samples(20, 10, NOW - 600), ...samples(20, 0, NOW - 50)], { ...DRIFT, defaultRule: { ...DRIFT.defaultRule, direction: 'both' } }, NOW, ['override_rate'])[0];
  assert.equal(both?.drifted, true);

  const old = detectDrift([...samples(20, 0, NOW - 5000), ...samples(20, 10, NOW - 50)], DRIFT, NOW, ['override_rate'])[0];
  assert.equal(old?.baseline.samples, 0, 'samples older than the baseline window do not count');
});

void test('when an SLI starts drifting the webhooks get one Slack-compatible and one generic post, and the gauges say so', async () => {
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    let now = NOW - 500;
    const drift = new DriftMonitor({
      config: DriftConfig.parse({
        baselineSeconds: 1000,
        recentSeconds: 100,
        minSamples: 3,
        webhooks: [
          { url: `${base}/slack`, format: 'slack' },
          { url: `${base}/generic`, format: 'generic' },
        ],
      }),
      now: () => now,
      webhookOptions: { attempts: 1, timeoutMs: 2000 },
    });
    const metrics = new IncidentMetrics(VALUE, { drift });
    const approvedOnly = { ...approvedRemediated, decisions: [decision('approve', 305)] };
    const overridden = { ...approvedRemediated, decisions: [decision('override', 200), decision('approve', 305)] };
    // Baseline: four incidents without an override.
    for (let i = 0; i < 4; i++) await metrics.observeClosed({ ...approvedOnly, incidentId: `base-${i}` }, {}, now + i).drift;
    now = NOW;
    // Recent: overrides. Two are not enough samples; the third tips it.
    await metrics.observeClosed({ ...overridden, incidentId: 'r-0' }, {}, now - 30).drift;
    await metrics.observeClosed({ ...overridden, incidentId: 'r-1' }, {}, now - 20).drift;
    assert.equal(bodies.length, 0, 'no verdict with two recent samples');
    assert.match(metrics.render(), /vigil_sli_drift\{sli="override_rate"\} 0/);
    await metrics.observeClosed({ ...overridden, incidentId: 'r-2' }, {}, now - 10).drift;
    assert.equal(bodies.length, 2, 'one post per webhook');
    const slack = bodies.find((b) => b.path === '/slack')?.body;
    const generic = bodies.find((b) => b.path === '/generic')?.body;
    assert.match(String(slack?.['text']), /sli-drift.*override_rate 100\.0% over the recent window \(3 incidents\) vs 0\.0% baseline \(4\)/);
    assert.equal(generic?.['event'], 'sli-drift');
    assert.equal(generic?.['incidentId'], 'r-2');
    const text = metrics.render();
    assert.match(text, /vigil_sli_drift\{sli="override_rate"\} 1/);
    assert.match(text, /vigil_sli_drift\{sli="escalation_rate"\} 0/);
    assert.match(text, /vigil_sli_drift_ratio\{sli="override_rate"\} \+Inf/);
    assert.match(text, /vigil_sli_value\{sli="override_rate",window="recent"\} 1/);
    assert.match(text, /vigil_sli_samples\{sli="override_rate",window="baseline"\} 4/);
    // Still drifting: no second alert.
    await metrics.observeClosed({ ...overridden, incidentId: 'r-3' }, {}, now - 5).drift;
    assert.equal(bodies.length, 2, 'alerts on transitions only');
  } finally {
    server.close();
  }
});

// ---------- logs ----------

function captureLogs(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ name: 'test', level, stream }) };
}

void test('secrets are redacted from logs, at the top level and one level down', async () => {
  const { lines, logger } = captureLogs('info');
  logger.info(
    {
      authorization: 'Bearer top-secret-1',
      token: 'top-secret-2',
      headers: { authorization: 'Bearer top-secret-3' },
      req: { headers: { authorization: 'Bearer top-secret-4' } },
      server: { headers: { Authorization: 'Bearer top-secret-5' }, url: 'http://mcp' },
      llm: { apiKey: 'top-secret-6', model: 'm' },
      ingest: { hmacSecrets: ['top-secret-7'], bearerTokens: ['top-secret-8'] },
      tracing: { otlpHeaders: { 'x-api-key': 'top-secret-9' } },
      approver: { password: 'top-secret-10', secret: 'top-secret-11' },
    },
    'configuration loaded',
  );
  logger.flush();
  await new Promise((r) => setImmediate(r));
  const text = JSON.stringify(lines);
  for (let i = 1; i <= 11; i++) assert.ok(!text.includes(`top-secret-${i}`), `secret ${i} leaked: ${text}`);
  assert.match(text, /\[redacted\]/);
  assert.match(text, /http:\/\/mcp/, 'other fields stay');
  assert.equal((lines[0]?.['llm'] as Record<string, unknown>)['model'], 'm');
});

void test('activity logs carry the incident id, the workflow id and the activity; failures are logged with them', async () => {
  const { lines, logger } = captureLogs();
  const ctx = {
    info: { activityType: 'analyzeMetrics', attempt: 2, workflowExecution: { workflowId: 'wf-inc-7', runId: 'run-1' } },
  } as unknown as ActivityContext;
  const inbound = activityLoggingInterceptor(logger)(ctx).inbound;
  assert.ok(inbound?.execute);
  await inbound.execute({ args: [{ incidentId: 'inc-7' }], headers: {} }, async () => {
    activityLogger()?.info('querying metrics');
    return 'ok';
  });
  await assert.rejects(
    inbound.execute({ args: [{ status: { incidentId: 'inc-7' } }], headers: {} }, () => Promise.reject(new Error('backend down'))),
    /backend down/,
  );
  logger.flush();
  await new Promise((r) => setImmediate(r));
  const inside = lines.find((l) => l['msg'] === 'querying metrics');
  assert.equal(inside?.['incidentId'], 'inc-7');
  assert.equal(inside?.['workflowId'], 'wf-inc-7');
  assert.equal(inside?.['activity'], 'analyzeMetrics');
  assert.equal(inside?.['attempt'], 2);
  const failed = lines.find((l) => l['msg'] === 'activity failed');
  assert.equal(failed?.['incidentId'], 'inc-7');
  assert.equal(failed?.['level'], 40);
  assert.match(JSON.stringify(failed?.['err']), /backend down/);
});

void test('tracing is off by default', () => {
  assert.equal(ObservabilityConfig.parse({}).tracing.exporter, 'off');
  assert.equal(createTracing(ObservabilityConfig.parse({}).tracing), undefined);
  assert.throws(() => createTracing({ exporter: 'otlp', otlpHeaders: {}, serviceName: 'x' }), /otlpEndpoint/);
  assert.equal(ObservabilityConfig.safeParse({ tracing: { exporter: 'otlp' } }).success, false, 'an OTLP exporter without endpoint is a config error');
});

// ---------- end to end ----------

function vigilCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', timeout: 60_000 });
}

let h: IncidentHarness;
before(async () => {
  h = await startIncidentHarness({ seed: 11, inProcessWorker: false });
});
after(async () => {
  await h.close();
});

void test('after a real incident the worker serves its metrics (the accuracy SLIs following vigil close), activity spans were exported and logs carry the ids', async () => {
  const spans = new InMemorySpanExporter();
  const { lines, logger } = captureLogs();
  const connection = await NativeConnection.connect({ address: h.config.temporal.address });
  const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
  const worker = await createVigilWorker(
    { ...h.config, observability: ObservabilityConfig.parse({ value: { defaultBaselineMinutes: 45 }, accuracy: { refreshSeconds: 0 } }) },
    {
      connection,
      ...(bundle ? { workflowBundlePath: bundle } : {}),
      observability: { logger, metricsPort: 0, metricsHost: '127.0.0.1', spanProcessor: new SimpleSpanProcessor(spans) },
    },
  );
  const running = worker.run();
  try {
    assert.ok(worker.metricsUrl, 'the worker serves /metrics');
    const sim = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'bad-release', service: 'payment', severity: 'P0' });
    const handle = h.client.workflow.getHandle(sim.incidentId);
    const waiting = await waitForStatus(handle, (s) => s.stage === 'checkpoint');
    await handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'commander@local', planDigest: waiting.checkpoint?.bindingDigest ?? '' }] });
    const final = await incidentResult(h.client, sim.incidentId);
    assert.equal(final.outcome, 'remediated', final.saga?.summary);

    const res = await fetch(worker.metricsUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const expect = (name: string, value: number) => assert.equal(series(text, name), value, `${name} in\n${text}`);
    expect('vigil_incidents_started_total', 1);
    expect('vigil_incidents_closed_total{severity="P0",source="alertmanager",outcome="remediated"}', 1);
    expect('vigil_incidents_manual_intervention_total{severity="P0"}', 1);
    expect('vigil_remediations_total{outcome="completed"}', 1);
    expect('vigil_incident_diagnosis_seconds_count{severity="P0"}', 1);
    expect('vigil_incident_approval_wait_seconds_count{severity="P0"}', 1);
    expect('vigil_incident_tool_calls_count', 1);
    assert.ok((series(text, 'vigil_incident_tool_calls_sum') ?? 0) >= 4, 'the analyses called tools');
    const saved = series(text, `vigil_engineer_minutes_saved_total{type="${final.alerts[0]?.labels['alertname'] ?? ''}"}`);
    assert.ok(saved !== undefined && saved > 40 && saved <= 45, `minutes saved against the 45-minute baseline: ${saved}`);

    // The diagnosis-accuracy SLIs follow the commander's close label (vigil close, another process).
    expect('vigil_diagnosis_incidents{state="unlabelled"}', 1);
    expect('vigil_diagnosis_incidents{state="labelled"}', 0);
    assert.equal(series(text, 'vigil_diagnosis_sli{sli="top1_accuracy"}'), undefined, 'no accuracy without labels');
    const scrape = async () => {
      const t = await (await fetch(worker.metricsUrl ?? '')).text();
      return (name: string) => series(t, name);
    };
    const inferred = final.inference?.rootCause?.service ?? '';
    assert.equal(inferred, 'payment');
    const confirm = vigilCli(['close', sim.incidentId, '--root-cause', 'payment', '--as', 'commander@local', '--helpful', '--data-dir', h.config.dataDir]);
    assert.equal(confirm.status, 0, confirm.stderr);
    let m = await scrape();
    assert.equal(m('vigil_diagnosis_incidents{state="labelled"}'), 1);
    assert.equal(m('vigil_diagnosis_sli{sli="top1_accuracy"}'), 1);
    assert.equal(m('vigil_diagnosis_sli{sli="helpful_rate"}'), 1);
    assert.equal(m('vigil_diagnosis_sli_samples{sli="top1_accuracy"}'), 1);
    // The commander corrects the label: the same incident now counts as a miss.
    const correct = vigilCli(['close', sim.incidentId, '--root-cause', 'checkout', '--as', 'commander@local', '--not-helpful', '--data-dir', h.config.dataDir]);
    assert.equal(correct.status, 0, correct.stderr);
    m = await scrape();
    assert.equal(m('vigil_diagnosis_sli{sli="top1_accuracy"}'), 0);
    assert.equal(m('vigil_diagnosis_sli{sli="helpful_rate"}'), 0);
    assert.equal(m('vigil_diagnosis_sli_samples{sli="top1_accuracy"}'), 1, 'relabelled, not counted twice');
    const cli = vigilCli(['slis', '--json', '--data-dir', h.config.dataDir]);
    assert.equal(cli.status, 0, cli.stderr);
    const slis = JSON.parse(cli.stdout) as { incidents: { labelled: number }; accuracy: { top1: { value: number; samples: number } }; helpful: { value: number } };
    assert.equal(slis.incidents.labelled, 1);
    assert.deepEqual(slis.accuracy.top1, { value: 0, samples: 1 });
    assert.equal(slis.helpful.value, 0);

    const names = spans.getFinishedSpans().map((s) => s.name);
    assert.ok(names.includes('RunActivity:writeReport'), `an activity span (got ${[...new Set(names)].join(', ')})`);
    assert.ok(names.includes('RunActivity:analyzeMetrics'));

    logger.flush();
    const reportLog = lines.find((l) => l['activity'] === 'writeReport');
    assert.equal(reportLog?.['incidentId'], sim.incidentId);
    assert.equal(reportLog?.['workflowId'], sim.incidentId);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  await assert.rejects(fetch(worker.metricsUrl), 'the metrics server stops with the worker');
});
