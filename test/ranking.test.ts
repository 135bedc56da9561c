import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alertSymptoms,
  anomalousReach,
  anomalyApartFrom,
  buildGraph,
  callerInducedDemand,
  explainedShare,
  focusOnSymptom,
  latencyCoveredBy,
  notWaitedOn,
  onsetFactor,
  personalizedPageRank,
  propagationFactor,
  rankCandidates,
  sharedCallers,
  serviceOnsets,
  shortOfCallerTime,
  serviceStrengths,
  withSaturation,
} from '../src/ranking/rank-candidates.js';
import type { Finding, SourceEvidence } from '../src/schemas/evidence.js';
import type { Topology } from '../src/schemas/telemetry.js';
import { listCases, loadCase, loadTruth } from './support/load-case.js';
import { diagnoseCase } from '../scripts/rank-dataset.js';

const T0 = 1_700_000_000;

function topo(edges: [string, string][]): Topology {
  const names = [...new Set(edges.flat())].sort();
  return {
    services: names.map((name) => ({ name, kind: 'service' as const, instances: [] })),
    edges: edges.map(([source, target]) => ({ source, target, kind: 'calls' })),
    changes: [],
  };
}

function metric(service: string, indicator: string, score: number, onset: number | null): Finding {
  return { id: `metrics:${service}::${indicator}`, source: 'metrics', service, indicator, score, onset, summary: `${service} ${indicator}`, direction: 'up' };
}

function metrics(findings: Finding[]): SourceEvidence {
  return { source: 'metrics', status: 'ok', findings, stats: {} };
}

void test('a callee with an earlier onset beats its more anomalous caller', () => {
  const topology = topo([['frontend', 'checkout'], ['checkout', 'payment']]);
  const ranked = rankCandidates({
    evidence: [metrics([metric('checkout', 'latency_p90_seconds', 40, T0 + 25), metric('payment', 'cpu_usage', 30, T0 + 5)])],
    topology,
    alertedServices: ['frontend'],
    incidentStart: T0,
  });
  assert.equal(ranked[0]?.service, 'payment');
  assert.equal(ranked[0]?.indicator, 'cpu');
  assert.ok(ranked[0]?.reasons.some((r) => /payment's cpu_usage onset .* precedes its caller checkout's/.test(r)));
  assert.ok(ranked.find((c) => c.service === 'checkout')?.reasons.some((r) => /callee payment is also anomalous/.test(r)));
  for (const c of ranked) assert.ok(c.score >= 0 && c.score <= 1);
});

void test('a caller whose callees are healthy ranks first', () => {
  const topology = topo([['frontend', 'cart'], ['cart', 'redis']]);
  const ranked = rankCandidates({
    evidence: [metrics([metric('cart', 'memory_usage', 20, T0), metric('frontend', 'latency_p99_seconds', 25, T0)])],
    topology,
    alertedServices: ['frontend'],
    incidentStart: T0,
  });
  assert.equal(ranked[0]?.service, 'cart');
  assert.ok(ranked[0]?.reasons.some((r) => r === 'callees redis show no anomaly'));
  // Services without evidence appear only as dependencies of the alerted service, at score 0.
  assert.deepEqual(ranked.filter((c) => c.score === 0).map((c) => c.service), ['redis']);
});

void test('ties are broken deterministically by name', () => {
  const input = {
    evidence: [metrics([metric('b', 'cpu_usage', 10, T0), metric('a', 'cpu_usage', 10, T0)])],
    topology: null,
    alertedServices: [],
    incidentStart: T0,
  };
  const one = rankCandidates(input);
  const two = rankCandidates({ ...input, evidence: [metrics([...(input.evidence[0]?.findings ?? [])].reverse())] });
  assert.deepEqual(one.map((c) => c.service), ['a', 'b']);
  assert.deepEqual(two, one);
});

void test('log and trace evidence pointing into one service lifts it above a metric-only neighbour', () => {
  const topology = topo([['frontend', 'a'], ['frontend', 'b']]);
  const logs: SourceEvidence = {
    source: 'logs',
    status: 'ok',
    stats: {},
    findings: [{ id: 'logs:b:1', source: 'logs', service: 'b', indicator: 'log:db timeout', score: 30, onset: T0, summary: 'b error template', direction: 'up' }],
  };
  const ranked = rankCandidates({
    evidence: [metrics([metric('a', 'cpu_usage', 20, T0), metric('b', 'cpu_usage', 15, T0)]), logs],
    topology,
    alertedServices: ['frontend'],
    incidentStart: T0,
  });
  assert.equal(ranked[0]?.service, 'b');
});

void test('signal helpers: onset order, propagation discount, pagerank towards the anomalous callee', () => {
  const onsets = new Map([['x', { at: T0 }], ['y', { at: T0 + 10 }], ['z', { at: T0 + 20 }]]);
  assert.equal(onsetFactor('x', onsets), 1);
  assert.equal(onsetFactor('z', onsets), 0.75);
  const graph = buildGraph(topo([['y', 'x']]), []);
  const anomaly = new Map([['x', 1], ['y', 0.9]]);
  assert.equal(propagationFactor('y', anomaly, onsets, graph).explainedBy, 'x');
  assert.equal(propagationFactor('x', anomaly, onsets, graph).factor, 1);
  const pr = personalizedPageRank(graph, anomaly);
  assert.ok((pr.get('x') ?? 0) > (pr.get('y') ?? 0));
});

void test('a latency alert looks at latency: a request-count swing elsewhere does not outrank a slow dependency', () => {
  const topology = topo([['site', 'search'], ['site', 'lambda']]);
  const evidence = [
    metrics([metric('lambda', 'request_count', 40, T0), metric('search', 'latency_avg_seconds', 12, T0)]),
  ];
  const base = { evidence, topology, alertedServices: ['site'], incidentStart: T0 };
  assert.equal(rankCandidates(base)[0]?.service, 'lambda');
  const alerts = [{ labels: { alertname: 'HighLatency', service: 'site' }, annotations: { summary: 'site latency violates its SLO' } }];
  assert.equal(rankCandidates({ ...base, alerts })[0]?.service, 'search');
  assert.deepEqual(alertSymptoms(alerts), ['latency']);
  assert.deepEqual(alertSymptoms([{ labels: { alertname: 'LowAvailability' }, annotations: {} }]), ['errors']);
  // A generic alert names no symptom: every symptom counts.
  assert.deepEqual(alertSymptoms([{ labels: { alertname: 'SLOViolation' }, annotations: { summary: 'SLO violation at the entry service' } }]), []);
});

void test('anomaly traversal: a service reached from the alert through anomalous callees beats one off the chain', () => {
  const graph = buildGraph(topo([['site', 'api'], ['api', 'db'], ['site', 'cache'], ['cache', 'disk']]), []);
  const reach = anomalousReach(graph, ['site'], new Map([['api', 1], ['db', 1], ['disk', 1]]));
  assert.deepEqual([...reach].sort(), ['api', 'db', 'site']);
  // disk is anomalous, but its caller cache is healthy: nothing chains it to the alert.
  const ranked = rankCandidates({
    evidence: [metrics([metric('api', 'latency_p90_seconds', 10, T0), metric('db', 'cpu_usage', 10, T0), metric('disk', 'io_wait', 12, T0)])],
    topology: topo([['site', 'api'], ['api', 'db'], ['site', 'cache'], ['cache', 'disk']]),
    alertedServices: ['site'],
    incidentStart: T0,
  });
  assert.equal(ranked[0]?.service, 'db');
  assert.ok(ranked.find((c) => c.service === 'disk')?.reasons.some((r) => /no chain of anomalous calls leads from site to disk/.test(r)));
});

function saturation(service: string, indicator: string, score: number, onset: number | null): Finding {
  return { ...metric(service, indicator, score, onset), id: `metrics:${service}::${indicator}:saturation` };
}

void test('connections a database holds for its saturated caller are the caller\'s doing', () => {
  const topology = topo([['checkout', 'payment'], ['payment', 'payments-db']]);
  const evidence = [
    metrics([
      metric('payment', 'latency_p99_seconds', 30, T0),
      saturation('payment', 'cpu_usage', 25, T0),
      metric('payments-db', 'db_connections_in_use', 60, T0),
    ]),
  ];
  const induced = callerInducedDemand(evidence, buildGraph(topology, []));
  assert.deepEqual([...induced], [['metrics:payments-db::db_connections_in_use', 'payment']]);
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['checkout'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'payment');
  assert.ok(!ranked.some((c) => c.service === 'payments-db' && c.score > 0));
  assert.ok(ranked.find((c) => c.service === 'payments-db')?.reasons.some((r) => /db_connections_in_use moved with the trouble of its caller payment/.test(r)));
  // A database whose connections rose before its caller was in any trouble is not explained by it.
  const early = [metrics([metric('payment', 'latency_p99_seconds', 30, T0 + 60), metric('payments-db', 'db_connections_in_use', 60, T0)])];
  assert.equal(callerInducedDemand(early, buildGraph(topology, [])).size, 0);
});

void test('a service with its own resource saturated is not explained by a callee that went wrong at the same time', () => {
  const topology = topo([['checkout', 'payment'], ['payment', 'payments-db']]);
  const evidence = [
    metrics([
      metric('payment', 'latency_p99_seconds', 100, T0),
      saturation('payment', 'cpu_usage', 20, T0),
      metric('payments-db', 'latency_p99_seconds', 80, T0),
    ]),
  ];
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['checkout'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'payment');
  assert.ok(!ranked[0]?.reasons.some((r) => /callee payments-db .* may explain/.test(r)));
  const graph = buildGraph(topology, []);
  const anomaly = new Map([['payment', 1], ['payments-db', 0.8]]);
  const onsets = new Map([['payment', { at: T0 }], ['payments-db', { at: T0 }]]);
  assert.equal(propagationFactor('payment', anomaly, onsets, graph, { saturated: new Set(['payment']) }).factor, 1);
  assert.ok(propagationFactor('payment', anomaly, onsets, graph).factor < 1);
  // A saturated resource counts as strong as its source's strongest finding (an error
  // rate from a near-zero baseline reaches z-scores no utilization can).
  const strengths = serviceStrengths([metrics([metric('cart', 'error_rate', 200, T0), saturation('payment', 'cpu_usage', 20, T0)])]);
  const lifted = withSaturation(strengths, new Map([['payment', saturation('payment', 'cpu_usage', 20, T0)]]));
  assert.equal(lifted.get('metrics')?.get('payment'), 1);
  assert.equal(strengths.get('metrics')?.get('payment'), 0.1);
  // A callee whose trouble started earlier still explains it.
  const earlier = new Map([['payment', { at: T0 + 30 }], ['payments-db', { at: T0 }]]);
  assert.ok(propagationFactor('payment', anomaly, earlier, graph, { saturated: new Set(['payment']) }).factor < 1);
});

void test('a callee that only got slower does not explain its caller\'s failures', () => {
  assert.equal(explainedShare({ errors: 1 }, { latency: 1 }), 0);
  assert.equal(explainedShare({ errors: 1 }, { errors: 0.3 }), 1);
  assert.equal(explainedShare({ errors: 0.6, latency: 0.2 }, { latency: 1 }), 0.25);
  // Unknown on either side: the callee may explain everything.
  assert.equal(explainedShare({ errors: 1 }, undefined), 1);
  assert.equal(explainedShare(undefined, { latency: 1 }), 1);
  const topology = topo([['frontend', 'catalog']]);
  const ranked = rankCandidates({
    evidence: [metrics([{ ...metric('frontend', 'success_rate_percent', 60, T0), direction: 'down' }, metric('catalog', 'latency_p99_seconds', 50, T0)])],
    topology,
    alertedServices: ['frontend'],
    incidentStart: T0,
  });
  assert.equal(ranked[0]?.service, 'frontend');
  assert.ok(!ranked[0]?.reasons.some((r) => /may explain/.test(r)));
});

void test('a deploy long before the incident does not date the service\'s trouble', () => {
  const change: SourceEvidence = {
    source: 'topology',
    status: 'ok',
    stats: {},
    findings: [{ id: 'topology:frontend:deploy', source: 'topology', service: 'frontend', indicator: 'change:deploy', score: 0.7, onset: T0 - 2400, summary: 'deploy', direction: 'none' }],
  };
  const onsets = serviceOnsets([metrics([metric('frontend', 'error_rate', 10, T0 + 20)]), change]);
  assert.equal(onsets.get('frontend')?.at, T0 + 20);
});

const REAL_CASES: [string, number][] = [
  ['sockshop-rcd', 0],
  ['sockshop-rcd', 17],
  ['sockshop-rcd', 33],
  ['nezha-ob', 10],
  ['nezha-ob', 20],
];

void test('a symptom metric that got better is no symptom: an availability rise does not count under an errors alert', () => {
  const rose: Finding = { ...metric('lambda', 'availability_percent', 5, T0), direction: 'up' };
  const fell: Finding = { ...metric('listing', 'availability_percent', 4.5, T0), direction: 'down' };
  const faster: Finding = { ...metric('search', 'latency_p99_seconds', 9, T0), direction: 'down' };
  const cpuDown: Finding = { ...metric('cart', 'cpu_usage', 8, T0), direction: 'down' };
  const [focused] = focusOnSymptom([metrics([rose, fell, faster, cpuDown])], ['errors']);
  assert.deepEqual(focused?.findings.map((f) => f.service), ['listing', 'cart']);
  const [unfocused] = focusOnSymptom([metrics([rose, fell, faster])], []);
  assert.deepEqual(unfocused?.findings.map((f) => f.service), ['listing'], 'without a named symptom too');
});

void test('a caller whose callees all slowed together is suspected: they share it', () => {
  const topology = topo([['frontend', 'checkout'], ['checkout', 'email'], ['checkout', 'payment'], ['checkout', 'shipping'], ['frontend', 'catalog']]);
  const slow = (svc: string, z: number) => metric(svc, 'client_latency_p99_seconds', z, T0 + 60);
  const evidence = [metrics([slow('email', 20), slow('payment', 19), slow('shipping', 12), metric('checkout', 'call_latency_p50_to_email', 5, T0 + 60)])];
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['frontend'], incidentStart: T0 });
  const checkout = ranked.find((c) => c.service === 'checkout');
  assert.ok(checkout?.reasons.some((r) => /3 of its 3 callees \(email, payment, shipping\) slowed together/.test(r)), JSON.stringify(checkout));
  // Its own only finding describes email (an edge metric), yet it ranks among the slow callees:
  // they are the evidence against it, not an explanation that discounts it.
  assert.ok((checkout?.score ?? 0) > 0.7, JSON.stringify(checkout));
  assert.ok(!checkout?.reasons.some((r) => /callee \w+ is also anomalous/.test(r)), JSON.stringify(checkout));
  assert.deepEqual(ranked.slice(0, 4).map((c) => c.service), ['email', 'payment', 'checkout', 'shipping']);
  // One slow callee out of three is that callee's own trouble.
  const graph = buildGraph(topology, []);
  const one = sharedCallers(graph, new Map([['email', 1]]), new Map([['email', { latency: 1 }]]));
  assert.equal(one.size, 0);
  const two = sharedCallers(graph, new Map([['email', 1], ['payment', 0.6]]), new Map([['email', { latency: 1 }], ['payment', { latency: 0.6 }]]));
  assert.deepEqual(two.get('checkout'), { callees: ['email', 'payment'], strength: 0.6 });
});

void test('a callee whose latency rise covers its caller\'s is the cause, however their z-scores compare', () => {
  // search's tight baseline makes +0.30 s a z of 995; its table's loose one makes +0.28 s a z of 200.
  const topology = topo([['site', 'search'], ['search', 'table'], ['site', 'cart']]);
  const lat = (service: string, score: number, baseline: number, level: number): Finding => ({ ...metric(service, 'latency_avg_seconds', score, T0 + 60), baseline, level });
  const evidence = [metrics([lat('search', 995, 0.006, 0.304), lat('table', 200, 0.014, 0.291), lat('site', 160, 0.09, 0.54)])];
  const covered = latencyCoveredBy(evidence, buildGraph(topology, evidence));
  assert.ok((covered.get('table')?.[0]?.share ?? 0) > 0.9);
  assert.equal(covered.get('table')?.[0]?.caller, 'search');
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['site'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'table', JSON.stringify(ranked.map((c) => [c.service, c.score])));
  assert.ok(ranked[0]?.reasons.some((r) => /search is slow waiting for table/.test(r)));
  // A callee that added a small part of its caller's rise covers nothing: the caller keeps its own slowness.
  const own = [metrics([lat('search', 995, 0.006, 0.304), lat('table', 200, 0.014, 0.05), lat('site', 160, 0.09, 0.54)])];
  assert.equal(latencyCoveredBy(own, buildGraph(topology, own)).has('table'), false);
  assert.equal(rankCandidates({ evidence: own, topology, alertedServices: ['site'], incidentStart: T0 })[0]?.service, 'search');
});

/** A latency finding of `service` a minute into the incident: its usual and its incident level, in seconds. */
const latencyAt = (service: string, indicator: string, score: number, baseline: number, level: number): Finding => ({
  ...metric(service, indicator, score, T0 + 60),
  baseline,
  level,
});

void test('a callee that got ten times slower than its caller is not waited on: the caller\'s slowness is not traced down that edge', () => {
  // site got 0.2 s slower; the workflow it starts got 2.7 s slower (asynchronous), payment 0.2 s (waited on).
  const topology = topo([['site', 'workflow'], ['workflow', 'step'], ['site', 'payment']]);
  const evidence = [
    metrics([
      latencyAt('site', 'latency_p90_seconds', 30, 0.26, 0.49),
      latencyAt('workflow', 'latency_p50_seconds', 25, 1.24, 3.98),
      latencyAt('step', 'latency_p50_seconds', 51, 0.38, 2.96),
      latencyAt('payment', 'latency_p50_seconds', 32, 0.2, 0.43),
    ]),
  ];
  const async = notWaitedOn(evidence, buildGraph(topology, evidence));
  assert.deepEqual([...async], ['site → workflow']);
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['site'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'payment', JSON.stringify(ranked.map((c) => [c.service, c.score])));
  assert.ok(ranked.find((c) => c.service === 'step')?.reasons.some((r) => /no chain of anomalous calls/.test(r)));
  assert.ok(ranked.find((c) => c.service === 'workflow')?.reasons.some((r) => /site: they do not wait on it/.test(r)));
});

void test('a callee whose requests took under half the extra time its caller\'s did, though each got slower, is not what the caller waited on', () => {
  // site lost 260 request-seconds (2259 requests, +0.12 s each). The workflow it starts got
  // +1.2 s slower per execution but ran 84 of them: 104 s. payment: +0.56 s on 666 requests, 373 s.
  const topology = topo([['site', 'workflow'], ['workflow', 'step'], ['site', 'payment']]);
  const findings = [
    latencyAt('site', 'latency_p90_seconds', 356, 0.25, 1.26),
    latencyAt('workflow', 'latency_p50_seconds', 491, 0.67, 3.95),
    latencyAt('step', 'latency_p95_seconds', 831, 0.5, 4.6),
    latencyAt('payment', 'latency_p50_seconds', 559, 0.18, 1.15),
  ];
  const extraTime = {
    site: { requests: 2259, seconds: 261 },
    workflow: { requests: 84, seconds: 104 },
    step: { requests: 80, seconds: 7.6 },
    payment: { requests: 665, seconds: 373 },
  };
  const evidence: SourceEvidence[] = [{ ...metrics(findings), extraTime }];
  const graph = buildGraph(topology, evidence);
  // The rises alone (3× the caller's) do not tell the workflow is not waited on.
  assert.deepEqual([...notWaitedOn(evidence, graph)], []);
  assert.deepEqual([...shortOfCallerTime(evidence, graph)], ['site → workflow']);
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['site'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'payment', JSON.stringify(ranked.map((c) => [c.service, c.score])));
  assert.ok(ranked.find((c) => c.service === 'step')?.reasons.some((r) => /no chain of anomalous calls/.test(r)));
  assert.ok(ranked.find((c) => c.service === 'workflow')?.reasons.some((r) => /did not wait on it for most of their slowness/.test(r)));
  // Without the request accounting the step's z-score wins.
  assert.equal(rankCandidates({ evidence: [metrics(findings)], topology, alertedServices: ['site'], incidentStart: T0 })[0]?.service, 'step');
  // A callee that got no slower per request than its caller (its own latency does not show
  // what its callers wait for: a network delay, throttled calls retried by the caller) is not
  // cut, however little extra time it reports.
  const unseen = [{ ...metrics(findings), extraTime: { ...extraTime, payment: { requests: 665, seconds: 20 } } }];
  assert.ok(!shortOfCallerTime(unseen, graph).has('site → payment'));
  // A caller that did not get slower has no lost time to account for.
  const calm = [{ ...metrics(findings.filter((f) => f.service !== 'site')), extraTime }];
  assert.deepEqual([...shortOfCallerTime(calm, graph)], []);
});

void test('a callee whose latency rose about as much as its caller\'s is waited on, whatever one metric of two did', () => {
  // search: p99 +10.8 s, avg +0.28 s, p95 +0.02 s; table: p99 +10.3 s, avg +0.26 s. The mean of
  // table's two (5.3 s) is 19× search's median (0.28 s), but table's typical rise is its caller's.
  const topology = topo([['site', 'search'], ['search', 'table']]);
  const lat = (service: string, indicator: string, baseline: number, level: number): Finding => ({ ...metric(service, indicator, 100, T0 + 60), baseline, level });
  const evidence = [
    metrics([
      lat('search', 'latency_p99_seconds', 0.035, 10.8),
      lat('search', 'latency_avg_seconds', 0.006, 0.289),
      lat('search', 'latency_p95_seconds', 0.012, 0.034),
      lat('table', 'latency_p99_seconds', 0.15, 10.5),
      lat('table', 'latency_avg_seconds', 0.013, 0.277),
    ]),
  ];
  assert.deepEqual([...notWaitedOn(evidence, buildGraph(topology, evidence))], []);
});

void test('a slow-together callee whose own rise covers its shared caller\'s still explains it', () => {
  const topology = topo([['site', 'search'], ['search', 'table'], ['search', 'blob']]);
  const lat = (service: string, score: number, baseline: number, level: number): Finding => ({ ...metric(service, 'latency_avg_seconds', score, T0 + 60), baseline, level });
  // table and blob both slowed, but table's +0.28 s covers search's +0.30 s: search waits for table.
  const evidence = [metrics([lat('search', 995, 0.006, 0.304), lat('table', 200, 0.014, 0.291), lat('blob', 150, 0.01, 0.02)])];
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['site'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'table', JSON.stringify(ranked.map((c) => [c.service, c.score])));
  assert.ok(ranked.find((c) => c.service === 'search')?.reasons.some((r) => /callee table is also anomalous/.test(r)));
});

void test('on real labelled cases the true service is in the top 3', () => {
  for (const [dataset, idx] of REAL_CASES) {
    const id = listCases(dataset)[idx];
    assert.ok(id);
    const { candidates } = diagnoseCase(loadCase(dataset, id));
    const truth = loadTruth(dataset, id);
    const top3 = candidates.slice(0, 3).map((c) => c.service);
    assert.ok(top3.includes(truth.service), `${dataset}/${id}: ${truth.service} not in ${top3.join(', ')}`);
  }
});

void test("a callee's finding read off its caller's call tree competes with the caller, it does not explain the caller away", () => {
  const topology = topo([['frontend', 'checkout'], ['checkout', 'payment'], ['checkout', 'cart']]);
  const span = (service: string, kind: string, readOff?: string): Finding => ({
    id: `traces:${service}:PlaceOrder:${kind}`,
    source: 'traces',
    service,
    indicator: 'span:PlaceOrder',
    score: 14,
    onset: T0 + 5,
    summary: `${service} ${kind}`,
    direction: 'down',
    ...(readOff ? { readOff } : {}),
  });
  const evidence: SourceEvidence[] = [
    metrics([metric('checkout', 'latency_p99_seconds', 5.3, T0 + 60)]),
    // checkout's PlaceOrder stopped its usual calls right after payment answered: read as checkout's own doing, and as payment's.
    { source: 'traces', status: 'ok', findings: [span('checkout', 'missing-calls'), span('payment', 'cut-after', 'checkout')], stats: {} },
  ];
  const apart = anomalyApartFrom(evidence, new Map());
  assert.equal(apart.get('checkout')?.get('payment') ?? 0, 0, 'payment has nothing of its own apart from checkout\'s spans');
  const ranked = rankCandidates({ evidence, topology, alertedServices: ['frontend'], incidentStart: T0 });
  assert.equal(ranked[0]?.service, 'checkout', JSON.stringify(ranked.map((c) => [c.service, c.score])));
  assert.ok(!ranked[0]?.reasons.some((r) => /callee payment is also anomalous|payment show no anomaly/.test(r)), ranked[0]?.reasons.join(' | '));
  assert.ok((ranked[0]?.score ?? 0) > 2 * (ranked.find((c) => c.service === 'payment')?.score ?? 1), 'payment does not gather the walk from checkout on checkout\'s own spans');
});
