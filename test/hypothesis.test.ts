/**
 * Hypothesis investigation: the pure judgement of one hypothesis on simulator telemetry,
 * re-ranking with verdicts, and, end to end, a broken telemetry source that leaves the
 * evidence marked missing and its hypotheses "not investigated" without failing the incident.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { bindAllCapabilities } from '../src/config.js';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import { judgeHypothesis } from '../src/hypothesis/judge-hypothesis.js';
import type { MetricSeries, Span } from '../src/schemas/telemetry.js';
import { rerankWithHypotheses } from '../src/hypothesis/rerank.js';
import { SimulatorModel } from '../src/simulator/index.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { incidentResult, startIncidentHarness } from './support/incident-harness.js';

installTemporalRuntime();

function telemetry(kind: 'bad-release' | 'db-pool-exhaustion', service: string) {
  let t = 1_800_000_000;
  const m = new SimulatorModel({ seed: 5, now: () => t });
  m.inject({ kind, service, startedAt: t - 120 });
  t += 0;
  const start = t - 120;
  const window = { start: start - 1800, end: t };
  return {
    start,
    series: m.queryMetrics({ ...window, step: 5 }).series,
    logs: m.searchLogs({ ...window, limit: 50_000 }).logs,
    spans: m.searchTraces({ ...window, limit: 200_000 }).spans,
    topology: m.topology({}),
  };
}

void test('the faulty service is supported and its healthy caller is not', () => {
  const d = telemetry('bad-release', 'payment');
  const judge = (service: string) =>
    judgeHypothesis({
      service,
      incidentStart: d.start,
      series: d.series,
      logs: d.logs,
      spans: d.spans.filter((s) => s.service === service || d.spans.some((p) => p.trace_id === s.trace_id && p.service === service)),
      topology: d.topology,
      incidentFindings: [],
    });
  const payment = judge('payment');
  assert.equal(payment.verdict, 'supported', JSON.stringify(payment));
  assert.ok(payment.evidenceFor.some((e) => /changed at .* deploy/.test(e)), 'the deploy just before is evidence');
  const shipping = judge('shipping');
  assert.equal(shipping.verdict, 'refuted', JSON.stringify(shipping));
  assert.match(shipping.evidenceAgainst.join(' '), /nothing abnormal of its own/);
});

/** A per-minute series: `base` with small wiggles before `start`, `during` from it on. */
function minuteSeries(service: string, metric: string, start: number, base: number, during: number): MetricSeries {
  const points: [number, number][] = [];
  for (let t = start - 1800; t < start + 600; t += 60) points.push([t, (t < start ? base : during) * (1 + 0.01 * ((t / 60) % 3))]);
  return { service, instance: `${service}-0`, metric, points };
}

void test("an edge metric measured at a caller speaks for the callee, not for the caller", () => {
  const start = 1_800_000_000;
  const edge = minuteSeries('frontend', 'call_latency_p50_to_recommendation', start, 0.01, 0.5);
  const finding = { id: 'metrics:frontend:call_latency', source: 'metrics' as const, service: 'frontend', indicator: edge.metric, summary: 'frontend call latency to recommendation rose', score: 40, onset: start, direction: 'up' as const };
  const judge = (service: string) =>
    judgeHypothesis({ service, incidentStart: start, series: [edge], logs: [], spans: [], topology: null, incidentFindings: [finding] });
  const callee = judge('recommendation');
  assert.equal(callee.verdict, 'supported', JSON.stringify(callee));
  assert.match(callee.evidenceFor.join(' '), /as its callers see it/);
  const caller = judge('frontend');
  assert.equal(caller.verdict, 'refuted', JSON.stringify(caller));
});

void test("a neighbour's earlier onset is reported but does not overturn the service's own evidence", () => {
  const start = 1_800_000_000;
  const own = minuteSeries('checkout', 'cpu_usage', start, 0.2, 0.95);
  const earlier = { id: 'metrics:cart:latency', source: 'metrics' as const, service: 'cart', indicator: 'latency_p99_seconds', summary: 'cart latency rose', score: 5, onset: start - 300, direction: 'up' as const };
  const j = judgeHypothesis({
    service: 'checkout',
    incidentStart: start,
    series: [own],
    logs: [],
    spans: [],
    topology: { services: [{ name: 'checkout', kind: 'service', instances: [] }, { name: 'cart', kind: 'service', instances: [] }], edges: [{ source: 'checkout', target: 'cart', kind: 'calls' }], changes: [] },
    incidentFindings: [earlier],
  });
  assert.match(j.evidenceAgainst.join(' '), /its callee cart degraded earlier/);
  assert.equal(j.verdict, 'supported', JSON.stringify(j));
});

void test('re-ranking lifts a supported hypothesis over a refuted one and says why', () => {
  const ranked = rerankWithHypotheses(
    [
      { service: 'checkout', score: 0.9, reasons: ['r1'], findingIds: [] },
      { service: 'payment', score: 0.8, reasons: ['r2'], findingIds: [] },
    ],
    [
      { service: 'checkout', rank: 1, verdict: 'refuted', evidenceFor: [], evidenceAgainst: ['its callee payment degraded earlier'], toolCalls: 4 },
      { service: 'payment', rank: 2, verdict: 'supported', evidenceFor: ['own logs: new error template'], evidenceAgainst: [], toolCalls: 4 },
    ],
  );
  assert.deepEqual(ranked.map((c) => c.service), ['payment', 'checkout']);
  assert.ok(ranked[0] && ranked[0].score <= 1);
  assert.match(ranked[0]?.reasons[0] ?? '', /supported/);
  assert.match(ranked[1]?.reasons[0] ?? '', /refuted.*callee payment/);
});

void test('call trees that stop right after calling a service are evidence for it, with no error status or metric of its own', () => {
  const T = 1_800_000_000;
  const sp = (trace: string, id: string, parent: string | null, service: string, operation: string, start: number): Span => ({
    trace_id: trace, span_id: id, parent_span_id: parent, service, instance: `${service}-1`, operation, start, duration_ms: 5, status: null,
  });
  const prep = (trace: string, t: number, complete: boolean): Span[] => [
    sp(trace, `${trace}a`, null, 'checkout', 'PrepOrderItems', t),
    sp(trace, `${trace}b`, `${trace}a`, 'checkout', 'catalog.GetProduct', t),
    sp(trace, `${trace}c`, `${trace}b`, 'catalog', 'GetProduct', t + 0.001),
    ...(complete ? [sp(trace, `${trace}d`, `${trace}a`, 'checkout', 'ConvertCurrency', t + 0.02)] : []),
  ];
  const baselineSpans = Array.from({ length: 20 }, (_, i) => prep(`b${i}`, T - 3600 + i * 10, true)).flat();
  const spans = Array.from({ length: 5 }, (_, i) => prep(`t${i}`, T + i * 10, false)).flat();
  const j = judgeHypothesis({ service: 'catalog', incidentStart: T, series: [], logs: [], spans, topology: null, incidentFindings: [], baselineSpans });
  assert.equal(j.verdict, 'supported', JSON.stringify(j));
  assert.match(j.evidenceFor[0] ?? '', /stopped its usual calls right after its call into catalog/);
});

void test('a broken trace source is reported missing and its hypotheses "not investigated", and the incident goes on', async () => {
  // Traces are bound to a tool the server does not have: every trace query fails.
  const h2 = await startIncidentHarness({
    seed: 52,
    toolsOverride: { servers: [], capabilities: { ...bindAllCapabilities('simulator'), 'traces.search': { server: 'simulator', tool: 'no_such_tool', argumentMap: {} } } },
  });
  after(() => h2.close());
  const sim = await simulateIncident({ controlUrl: h2.sim.controlUrl, ingestUrl: h2.ingestUrl, fault: 'db-pool-exhaustion', service: 'inventory', severity: 'P3', alertService: 'inventory' });
  const final = await incidentResult(h2.client, sim.incidentId, 120_000);
  assert.ok(final.missingSources.some((m) => /^traces:/.test(m)), `traces reported missing: ${final.missingSources.join('; ')}`);
  assert.ok(final.hypotheses.length > 0);
  assert.ok(final.hypotheses.every((x) => x.verdict === 'not-investigated' && x.error), 'each hypothesis says it was not investigated, and why');
  assert.notEqual(final.outcome, null, 'the incident finished');
  assert.ok(final.candidates.length > 0, 'diagnosis went on with the other sources');
});
