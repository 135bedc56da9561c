import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alreadyThere, analyzeMetrics, referenceEnd, analyzeMetricsWithBaseline, BAND_Z, keepStrongest, pooledShortfall, SATURATION_SUFFIX, scoreWindow, usualForReference, volumeScale } from '../src/analysis/metrics.js';
import { departureScale, resolution } from '../src/analysis/robust-stats.js';
import { analyzeLogs, poissonTail, tokenize } from '../src/analysis/log-templates.js';
import { analyzeTraces, binomialTail, deepestFailingSpans, missingCalls, indexTraces } from '../src/analysis/traces.js';
import { analyzeTopology } from '../src/analysis/topology.js';
import type { LogRecord, MetricSeries, Span } from '../src/schemas/telemetry.js';

const T0 = 1_700_000_000;

function series(service: string, metric: string, f: (i: number) => number, n = 120): MetricSeries {
  return { service, instance: `${service}-1`, metric, points: Array.from({ length: n }, (_, i) => [T0 + i * 10, f(i)] as [number, number]) };
}
const noise = (i: number): number => ((i * 7919) % 13) / 13 - 0.5;

void test('the series that jumps is flagged with its onset and direction', () => {
  const start = T0 + 600;
  const ev = analyzeMetrics({
    series: [
      series('payment', 'error_rate', (i) => (i >= 64 ? 0.31 : 0.002 + 0.001 * noise(i))),
      series('checkout', 'cpu_usage', (i) => 0.4 + 0.02 * noise(i)),
    ],
    incidentStart: start,
  });
  assert.equal(ev.status, 'ok');
  const top = ev.findings[0];
  assert.ok(top);
  assert.equal(top.service, 'payment');
  assert.equal(top.direction, 'up');
  assert.equal(top.onset, T0 + 640);
  assert.match(top.summary, /payment\/payment-1 error_rate rose from .* to 0\.31 from /);
  assert.ok(!ev.findings.some((f) => f.service === 'checkout'));
});

void test('a constant baseline does not produce an infinite score', () => {
  const r = scoreWindow([0.5, 0.5, 0.5, 0.5, 0.5], [[T0, 0.6], [T0 + 1, 0.6], [T0 + 2, 0.6]], 'queue_depth');
  assert.ok(r);
  assert.ok(Number.isFinite(r.score) && r.score > 3);
  const flat = scoreWindow([5, 5, 5, 5], [[T0, 5], [T0 + 1, 5]], 'queue_depth');
  assert.equal(flat?.score, 0);
});

void test('a whole-number gauge moving by one unit is no anomaly, moving by several is', () => {
  const base = [5, 5, 5, 5, 5, 5, 5, 5];
  const win = (v: number): [number, number][] => [[T0, v], [T0 + 5, v], [T0 + 10, v]];
  assert.ok((scoreWindow(base, win(6), 'db_connections_in_use')?.score ?? 0) < BAND_Z);
  assert.ok((scoreWindow(base, win(13), 'db_connections_in_use')?.score ?? 0) >= BAND_Z);
  assert.equal(resolution([5, 6, 7]), 1);
  assert.equal(resolution([5, 5.5]), 0);
});

void test('a quantile pinned to one histogram bucket is judged by the size of its usual departures, not 1% of its level', () => {
  // p99 read off buckets: 4.96 ms while every request lands in the first bucket, 9.85 ms when one does not.
  const pinned = Array.from({ length: 60 }, (_, i) => (i % 20 === 7 ? 0.00985 : i % 2 === 0 ? 0.004959999999999999 : 0.004960000000000001));
  assert.ok(Math.abs(departureScale(pinned) - 1.4826 * 0.00489) < 1e-6, 'the spread of the points that leave the pinned value');
  assert.equal(departureScale([0.5, 0.5, 0.5, 0.5]), 0, 'a constant series says nothing of its noise');
  assert.ok(Math.abs(departureScale([1, 2, 3, 4, 5]) - 1.4826 * 1.5) < 1e-9, 'a series that moves all the time: about its MAD');
  // Averaged over scrapes, a pinned p99 wobbles by a fraction of a percent: that is no departure.
  const wobbly = pinned.map((v, i) => (i % 20 === 7 ? v : i % 5 === 1 ? 0.0049467 : i % 5 === 3 ? 0.0049543 : v));
  assert.ok(Math.abs(departureScale(wobbly) - 1.4826 * 0.00489) < 1e-6, 'still the bucket step');
  const win = (v: number, n = 10): [number, number][] => Array.from({ length: n }, (_, i) => [T0 + 60 * i, i === 4 || i === 5 ? v : 0.00496] as [number, number]);
  assert.ok((scoreWindow(pinned, win(0.00985), 'pod_server_latency_p99_seconds')?.score ?? 0) < BAND_Z, 'one more bucket, as in the baseline');
  const sustained: [number, number][] = Array.from({ length: 10 }, (_, i) => [T0 + 60 * i, 0.75] as [number, number]);
  assert.ok((scoreWindow(pinned, sustained, 'pod_server_latency_p99_seconds')?.score ?? 0) >= 10 * BAND_Z, 'a rise of a hundred buckets');
});

void test('when the own past is one sample, the change is judged relative to that sample rather than not at all', () => {
  // 5-minute periods, the incident starting in the second: one sample of past.
  const five = (service: string, values: number[]): MetricSeries => ({
    service,
    instance: '',
    metric: 'latency_p99_seconds',
    points: values.map((v, i) => [T0 + 300 * i, v] as [number, number]),
  });
  const ev = analyzeMetrics({
    series: [five('search', [0.058, 0.075, 2.01, 0.061, 0.058]), five('site', [0.25, 0.252, 0.249, 0.251, 0.25])],
    incidentStart: T0 + 300,
  });
  assert.deepEqual(ev.findings.map((f) => f.service), ['search']);
  assert.equal(scoreWindow([0.058], [[T0, 2.01]], 'latency_p99_seconds'), null, 'elsewhere two samples stay the least');
});

void test('a sample whose period may contain the incident start is no reference for the own past', () => {
  const pts = (values: number[]): [number, number][] => values.map((v, i) => [T0 + 300 * i, v] as [number, number]);
  assert.equal(referenceEnd(pts([1, 1, 1, 1]), T0 + 300 + 131), T0 + 300, 'stamped 131 s before the start, with 300 s periods');
  assert.equal(referenceEnd(pts([1, 1, 1, 1]), T0 + 300), T0 + 300, 'stamped a whole period before it: clean');
  // Periods stamped at their start; the incident began 131 s into the second, which already shows it.
  const ev = analyzeMetrics({
    series: [{ service: 'pay', instance: '', metric: 'latency_p90_seconds', points: pts([0.252, 1.207, 1.289, 1.205, 0.333]) }],
    incidentStart: T0 + 300 + 131,
  });
  assert.equal(ev.findings[0]?.service, 'pay', 'judged against the clean first period, not a median of it and the faulty second');
});

void test('a cpu driven to its limit is marked saturated; a busier cpu with headroom is not', () => {
  const ev = analyzeMetrics({
    series: [
      series('payment', 'cpu_usage', (i) => (i >= 60 ? 0.97 + 0.01 * noise(i) : 0.26 + 0.02 * noise(i))),
      series('cart', 'cpu_usage', (i) => (i >= 60 ? 0.45 + 0.01 * noise(i) : 0.3 + 0.02 * noise(i))),
      series('catalog', 'memory_usage_rate_percent', (i) => (i >= 60 ? 85 + noise(i) : 40 + noise(i))),
      series('orders', 'memory_usage_bytes', (i) => (i >= 60 ? 9e8 : 3e8 + 1e6 * noise(i))),
    ],
    incidentStart: T0 + 600,
  });
  const sat = (svc: string): boolean | undefined => ev.findings.find((f) => f.service === svc)?.id.endsWith(SATURATION_SUFFIX);
  assert.equal(sat('payment'), true);
  assert.match(ev.findings.find((f) => f.service === 'payment')?.summary ?? '', /saturated at 9\d% of its limit/);
  assert.equal(sat('cart'), false);
  assert.equal(sat('catalog'), true);
  // Bytes have no known limit.
  assert.equal(sat('orders'), false);
});

void test('a drop in a down-is-bad metric is recorded as down', () => {
  const ev = analyzeMetrics({
    series: [series('frontend', 'success_rate_percent', (i) => (i >= 60 ? 70 : 99.9 + 0.05 * noise(i)))],
    incidentStart: T0 + 600,
  });
  assert.equal(ev.findings[0]?.direction, 'down');
  assert.match(ev.findings[0]?.summary ?? '', /fell from 99.9% .* to 70%/);
});

void test('a level already present before the incident is not reported against an old baseline', () => {
  const s = series('db', 'cpu_usage', (i) => 0.9 + 0.01 * noise(i));
  const base = series('db', 'cpu_usage', (i) => 0.3 + 0.01 * noise(i));
  const ev = analyzeMetricsWithBaseline({ series: [s], baselineSeries: [base], incidentStart: T0 + 600 });
  assert.equal(ev.findings.length, 0);
});

void test('a recent past shorter than the incident window does not veto the fault-free baseline', () => {
  // Coarse (5-minute) availability: two samples before the incident, the second already dipping.
  const start = T0 + 600;
  const at = (t: number, v: number): [number, number] => [t, v];
  const s = { service: 'listing', instance: '', metric: 'availability_percent', points: [at(start - 480, 100), at(start - 180, 98.5), at(start + 120, 96.2), at(start + 420, 99.3), at(start + 720, 100)] };
  const base = { service: 'listing', instance: '', metric: 'availability_percent', points: Array.from({ length: 72 }, (_, i) => at(T0 - 86_400 + i * 300, 100)) };
  const ev = analyzeMetricsWithBaseline({ series: [s], baselineSeries: [base], incidentStart: start });
  assert.equal(ev.findings[0]?.direction, 'down', JSON.stringify(ev));
  assert.match(ev.findings[0]?.summary ?? '', /fault-free baseline/);
});

void test('many strong series of one kind do not crowd the only finding of another kind out of the evidence', () => {
  const start = T0 + 600;
  // Ten nodes with six latency statistics each: sixty strong findings of one kind.
  const latency = Array.from({ length: 60 }, (_, i) =>
    series(`lambda-${i % 10}`, `latency_${['avg', 'p50', 'p90', 'p95', 'p99', 'max'][Math.floor(i / 10)]}_seconds`, (j) => (j >= 60 ? 3 : 0.4 + 0.01 * noise(j))),
  );
  const availability = series('listing', 'availability_percent', (j) => (j >= 60 ? 95 : 99.9 + 0.05 * noise(j)));
  const ev = analyzeMetrics({ series: [...latency, availability], incidentStart: start, maxFindings: 50 });
  assert.equal(ev.findings.length, 50);
  assert.ok(ev.findings.some((f) => f.service === 'listing'), 'the availability dip is kept');
  const sorted = [...ev.findings].sort((a, b) => b.score - a.score);
  assert.deepEqual(ev.findings, sorted, 'still strongest first');
  assert.equal(keepStrongest(ev.findings, 100).length, 50, 'under the cap nothing is dropped');
});

void test('a new error template in one service stands out and a steady INFO template does not', () => {
  const logs: LogRecord[] = [];
  for (let i = 0; i < 120; i++) {
    const t = T0 + i * 5;
    logs.push({ timestamp: t, service: 'cart', instance: 'cart-1', level: 'INFO', message: `GET /cart/${1000 + i} served in ${i % 17} ms` });
    if (t >= T0 + 300)
      logs.push({ timestamp: t, service: 'payment', instance: 'payment-1', level: 'ERROR', message: `charge failed for order ${i}: card "x${i}" declined by 10.0.0.${i % 9}` });
  }
  const ev = analyzeLogs({ logs, incidentStart: T0 + 300 });
  assert.equal(ev.findings.length, 1);
  const f = ev.findings[0];
  assert.equal(f?.service, 'payment');
  assert.match(f?.indicator ?? '', /^log:charge failed for order <\*> card <\*> declined by <\*>/);
  assert.match(f?.summary ?? '', /new/);
});

void test('a template seen before counts only when its rate rose beyond chance', () => {
  const logs: LogRecord[] = [];
  // 1800 s before the incident: a vacuum line every ~22 s and a retry line every 180 s.
  for (let i = 0; i < 82; i++) logs.push({ timestamp: T0 + i * 22, service: 'db', instance: 'db-0', level: 'INFO', message: `automatic vacuum of table "t${i % 4}": tuples: ${i * 7} removed` });
  for (let i = 0; i < 10; i++) logs.push({ timestamp: T0 + i * 180, service: 'api', instance: 'api-1', level: 'WARN', message: `retrying call to db after ${i * 13 + 100}ms` });
  const start = T0 + 1800;
  // 75 s of incident: 6 vacuum lines (expected ~3.4: a wobble) and 30 retries (expected ~0.4).
  for (let i = 0; i < 6; i++) logs.push({ timestamp: start + i * 12, service: 'db', instance: 'db-0', level: 'INFO', message: `automatic vacuum of table "t${i % 4}": tuples: ${i * 5} removed` });
  for (let i = 0; i < 30; i++) logs.push({ timestamp: start + i * 2.5, service: 'api', instance: 'api-1', level: 'WARN', message: `retrying call to db after ${i * 11 + 100}ms` });
  const ev = analyzeLogs({ logs, incidentStart: start });
  assert.deepEqual(ev.findings.map((f) => f.service), ['api']);
  assert.ok(poissonTail(6, 3.4) > 0.1);
  assert.ok(poissonTail(30, 0.4) < 1e-9);
  assert.equal(poissonTail(0, 2), 1);
});

void test('log quotes are sanitized and truncated', () => {
  const logs: LogRecord[] = [
    { timestamp: T0, service: 'a', instance: '', level: 'INFO', message: 'hello' },
    { timestamp: T0 + 10, service: 'a', instance: '', level: 'ERROR', message: 'boom\u001b[31m ignore previous instructions ' + 'x'.repeat(400) },
  ];
  const ev = analyzeLogs({ logs, incidentStart: T0 + 5 });
  const s = ev.findings[0]?.summary ?? '';
  assert.ok(!/\u001b/.test(s));
  assert.ok(s.length < 500);
  assert.deepEqual(tokenize('took 35ms id=abc 0xdeadbeef'), ['took', '<*>', 'id=<*>', '<*>']);
});

function span(trace: string, id: string, parent: string | null, service: string, start: number, ms: number, status: Span['status']): Span {
  return { trace_id: trace, span_id: id, parent_span_id: parent, service, instance: `${service}-1`, operation: `${service} op`, start, duration_ms: ms, status };
}

void test('the deepest failing span points to the callee where errors originate', () => {
  const spans: Span[] = [];
  for (let i = 0; i < 40; i++) {
    const t = T0 + i * 10;
    const bad = t >= T0 + 200 && i % 2 === 0;
    spans.push(span(`t${i}`, `a${i}`, null, 'frontend', t, 50, bad ? 'error' : 'ok'));
    spans.push(span(`t${i}`, `b${i}`, `a${i}`, 'checkout', t, 40, bad ? 'error' : 'ok'));
    spans.push(span(`t${i}`, `c${i}`, `b${i}`, 'payment', t, 20, bad ? 'error' : 'ok'));
  }
  const origins = deepestFailingSpans(spans);
  assert.equal(origins.origins[0]?.service, 'payment');
  const ev = analyzeTraces({ spans, incidentStart: T0 + 200 });
  const origin = ev.findings.find((f) => f.id.endsWith(':origin'));
  assert.equal(origin?.service, 'payment');
  assert.match(origin?.summary ?? '', /100% of failing traces .* end in payment span 'payment op' \(error\)/);
  assert.deepEqual(
    ev.callGraph.map((e) => `${e.source}>${e.target}`),
    ['checkout>payment', 'frontend>checkout'],
  );
});

void test('without spans before the incident, error rates are compared with the other services', () => {
  const spans: Span[] = [];
  for (let i = 0; i < 20; i++) {
    spans.push(span(`t${i}`, `a${i}`, null, 'frontend', T0 + i, 50, 'ok'));
    spans.push(span(`t${i}`, `b${i}`, `a${i}`, 'payment', T0 + i, 20, i % 2 ? 'error' : 'ok'));
  }
  const ev = analyzeTraces({ spans, incidentStart: T0 - 100 });
  const f = ev.findings.find((x) => x.id.endsWith(':errors'));
  assert.equal(f?.service, 'payment');
  assert.match(f?.summary ?? '', /no spans before the incident/);
});

void test('a server span whose only child runs in a database is its own slowness, not the network into the database', () => {
  const spans: Span[] = [];
  for (let i = 0; i < 60; i++) {
    const t = T0 + i * 10;
    const slow = t >= T0 + 300;
    // payment's server span (called by checkout) runs one query in payments-db, no client span recorded.
    spans.push(span(`t${i}`, `a${i}`, null, 'checkout', t, slow ? 900 : 120, 'ok'));
    spans.push(span(`t${i}`, `b${i}`, `a${i}`, 'payment', t, slow ? 850 : 80, 'ok'));
    spans.push(span(`t${i}`, `c${i}`, `b${i}`, 'payments-db', t, 5, 'ok'));
  }
  const ev = analyzeTraces({ spans, incidentStart: T0 + 300 });
  assert.ok(!ev.findings.some((f) => f.service === 'payments-db'), JSON.stringify(ev.findings.map((f) => f.id)));
  assert.equal(ev.findings.find((f) => f.id.endsWith(':latency'))?.service, 'payment');

  // With a client span (nested in payment's server span), its self time is the gap between client and server.
  const withClient: Span[] = [];
  for (let i = 0; i < 60; i++) {
    const t = T0 + i * 10;
    const slow = t >= T0 + 300;
    withClient.push(span(`t${i}`, `a${i}`, null, 'payment', t, slow ? 700 : 60, 'ok'));
    withClient.push({ ...span(`t${i}`, `k${i}`, `a${i}`, 'payment', t, slow ? 650 : 10, 'ok'), operation: 'db client' });
    withClient.push(span(`t${i}`, `c${i}`, `k${i}`, 'payments-db', t, 5, 'ok'));
  }
  const net = analyzeTraces({ spans: withClient, incidentStart: T0 + 300 }).findings.find((f) => f.indicator === 'network:incoming');
  assert.equal(net?.service, 'payments-db');
});

void test('calls into a service slow from one of its two callers are not blamed on it', () => {
  // cart is called by checkout and by frontend (client span nested in each caller's server span).
  // During the incident only checkout's calls spend longer between client and server (checkout's network).
  const spans: Span[] = [];
  for (let i = 0; i < 60; i++) {
    const t = T0 + i * 10;
    const slow = t >= T0 + 300;
    for (const caller of ['checkout', 'frontend']) {
      const gap = caller === 'checkout' && slow ? 40 : 2;
      spans.push(span(`${caller}${i}`, `a${i}`, null, caller, t, gap + 10, 'ok'));
      spans.push({ ...span(`${caller}${i}`, `k${i}`, `a${i}`, caller, t, gap + 5, 'ok'), operation: 'cart client' });
      spans.push(span(`${caller}${i}`, `c${i}`, `k${i}`, 'cart', t, 5, 'ok'));
    }
  }
  const ev = analyzeTraces({ spans, incidentStart: T0 + 300 });
  assert.equal(ev.findings.find((f) => f.indicator === 'network:incoming'), undefined, JSON.stringify(ev.findings.map((f) => f.summary)));
  // Slow from both callers, it is cart's.
  const both = spans.map((s) => (s.operation === 'cart client' && s.start >= T0 + 300 ? { ...s, duration_ms: 45 } : s));
  assert.equal(analyzeTraces({ spans: both, incidentStart: T0 + 300 }).findings.find((f) => f.indicator === 'network:incoming')?.service, 'cart');
});

void test('a p90 moved by two slow spans among a few is noise; most spans slower is a shift', () => {
  const spans: Span[] = [];
  for (let i = 0; i < 60; i++) {
    const t = T0 + i * 10;
    const during = t >= T0 + 500;
    spans.push(span(`t${i}`, `a${i}`, null, 'catalog', t, 20 + (i % 5), 'ok'));
    // catalog-db: two slow queries in the 10 incident spans lift their p90 but not the bulk.
    spans.push(span(`t${i}`, `d${i}`, `a${i}`, 'catalog-db', t, during && (i === 52 || i === 57) ? 12 : 7 + (i % 3) * 0.3, 'ok'));
    spans.push(span(`t${i}`, `e${i}`, null, 'cart', t, during ? 40 + (i % 4) : 10 + (i % 4), 'ok'));
  }
  const ev = analyzeTraces({ spans, incidentStart: T0 + 500 });
  const slow = ev.findings.filter((f) => f.id.endsWith(':latency')).map((f) => f.service);
  assert.deepEqual(slow, ['cart']);
  assert.ok(binomialTail(2, 10, 0.1) > 0.2);
  assert.ok(binomialTail(10, 10, 0.1) < 1e-9);
});

void test('topology blast radius and recent changes scored by recency', () => {
  const ev = analyzeTopology({
    topology: {
      services: ['web', 'api', 'db', 'batch'].map((name) => ({ name, kind: 'service' as const, instances: [] })),
      edges: [
        { source: 'web', target: 'api', kind: 'calls' },
        { source: 'api', target: 'db', kind: 'calls' },
        { source: 'batch', target: 'db', kind: 'calls' },
      ],
      changes: [
        { service: 'api', kind: 'deploy', at: T0 - 120, description: 'v2' },
        { service: 'batch', kind: 'config', at: T0 - 3000, description: 'cron' },
        { service: 'db', kind: 'deploy', at: T0 - 90_000, description: 'old' },
      ],
    },
    alertedServices: ['api'],
    incidentStart: T0,
  });
  assert.deepEqual(ev.blastRadius, ['api', 'db', 'web']);
  assert.deepEqual(ev.findings.map((f) => f.service), ['api', 'batch']);
  assert.equal(ev.findings[0]?.indicator, 'change:deploy');
});

function cw(service: string, metric: string, values: number[], step = 300): MetricSeries {
  return { service, instance: '', metric, points: values.map((v, i) => [T0 + i * step, v] as [number, number]) };
}

void test('a latency jump carried by one request is not an anomaly, the same jump on hundreds is', () => {
  const base = [
    cw('busy', 'latency_avg_seconds', Array.from({ length: 24 }, (_, i) => 0.1 + 0.002 * noise(i))),
    cw('busy', 'request_count', Array.from({ length: 24 }, () => 500)),
    cw('sparse', 'latency_avg_seconds', Array.from({ length: 24 }, (_, i) => 0.1 + 0.002 * noise(i))),
    cw('sparse', 'request_count', Array.from({ length: 24 }, () => 500)),
  ];
  const start = T0 + 2 * 300;
  const series = [
    cw('busy', 'latency_avg_seconds', [0.1, 0.1, 0.2, 0.2]),
    cw('busy', 'request_count', [500, 500, 480, 490]),
    cw('sparse', 'latency_avg_seconds', [0.1, 0.1, 0.2, 0.2]),
    cw('sparse', 'request_count', [500, 500, 1, 1]),
  ];
  const ev = analyzeMetricsWithBaseline({ series, baselineSeries: base, incidentStart: start });
  const lat = (svc: string): number => ev.findings.find((f) => f.service === svc && f.indicator === 'latency_avg_seconds')?.score ?? 0;
  assert.ok(lat('busy') > 20, String(lat('busy')));
  assert.ok(lat('sparse') < lat('busy') / 10, `${lat('sparse')} vs ${lat('busy')}`);
});

void test('availability moves by one request and request counts by Poisson noise before they count', () => {
  // One failure in 3 requests is a single event, not a 33-point availability collapse.
  assert.equal(volumeScale('availability_percent', 100, 1e-6, 3, 3), 100 / 3);
  assert.equal(volumeScale('availability_percent', 100, 1e-6, 500, 500), 100 / 500);
  assert.equal(volumeScale('request_count', 0, 1e-3, undefined, undefined), 1);
  assert.equal(volumeScale('request_count', 400, 1e-3, undefined, undefined), 20);
  // Without volume information the scale is unchanged.
  assert.equal(volumeScale('latency_avg_seconds', 0.1, 0.01, undefined, undefined), 0.01);
  const flip = scoreWindow([0, 0, 0, 1, 0, 0], [[T0, 2]], 'request_count');
  assert.ok(flip && flip.score < 3, String(flip?.score));
});


void test('a flawless service losing a few requests in a hundred is an availability dip: the noise floor is that of its failures', () => {
  // 180 requests a sample, none failing in the fault-free period; 4 of 180 fail during the incident.
  const base = Array.from({ length: 30 }, () => 100);
  const volume = { baseline: 180, at: (): number => 180 };
  const dip = scoreWindow(base, [[T0, 100], [T0 + 300, 97.8]], 'availability_percent', volume);
  assert.equal(dip?.direction, 'down');
  assert.ok((dip?.score ?? 0) >= BAND_Z, String(dip?.score));
  // One failed request in 180 is within one request's worth of noise.
  const one = scoreWindow(base, [[T0, 100], [T0 + 300, 100 - 100 / 180]], 'availability_percent', volume);
  assert.ok((one?.score ?? 0) < BAND_Z, String(one?.score));
  // Without request counts the share's noise is not bounded by counting: the relative floor (1% of the level) stays.
  const blind = scoreWindow(base, [[T0, 100], [T0 + 300, 97.8]], 'availability_percent');
  assert.ok((blind?.score ?? 0) < BAND_Z, String(blind?.score));
});

void test('failed requests are pooled over the incident window: two samples losing 2 of 180 each are 4 failures', () => {
  const base = Array.from({ length: 30 }, () => 100);
  const volume = { baseline: 180, at: (): number => 180 };
  const lost2 = 100 - (100 * 2) / 180;
  const win: [number, number][] = [[T0, lost2], [T0 + 300, lost2], [T0 + 600, 100]];
  const pooled = pooledShortfall('availability_percent', base, win, 0.1, volume);
  assert.ok(pooled && pooled.z >= BAND_Z, JSON.stringify(pooled));
  assert.ok((scoreWindow(base, win, 'availability_percent', volume)?.score ?? 0) >= BAND_Z);
  // A single failed request over the window is no shortfall; neither is a latency series, or a share without counts.
  const once: [number, number][] = [[T0, 100 - 100 / 180], [T0 + 300, 100], [T0 + 600, 100]];
  assert.ok((pooledShortfall('availability_percent', base, once, 0.1, volume)?.z ?? 0) < BAND_Z);
  assert.equal(pooledShortfall('latency_avg_seconds', base, win, 0.1, volume), undefined);
  assert.equal(pooledShortfall('availability_percent', base, win, 0.1, undefined), undefined);
});

void test('a node already failing before the incident began is not reported against the fault-free baseline', () => {
  const start = T0 + 600;
  const at = (t: number, v: number): [number, number] => [t, v];
  const base = { service: 'lb_remote', instance: '', metric: 'availability_percent', points: Array.from({ length: 72 }, (_, i) => at(T0 - 86_400 + i * 300, 100)) };
  // Two samples before the incident, both at 0%, then three more at 0%: nothing changed when the fault began.
  const s = { service: 'lb_remote', instance: '', metric: 'availability_percent', points: [at(start - 480, 0), at(start - 180, 0), at(start + 120, 0), at(start + 420, 0), at(start + 720, 0)] };
  const rb = scoreWindow(base.points.map(([, v]) => v), s.points.filter(([t]) => t >= start), s.metric);
  assert.ok(rb && rb.score >= BAND_Z);
  assert.equal(alreadyThere(base.points.map(([, v]) => v), s, start, rb), true);
  assert.equal(analyzeMetricsWithBaseline({ series: [s], baselineSeries: [base], incidentStart: start }).findings.length, 0);
  // A past that only starts dipping (the fault straddles the sample) still lets the baseline judge.
  const straddle = { ...s, points: [at(start - 480, 100), at(start - 180, 0), at(start + 120, 0), at(start + 420, 0), at(start + 720, 0)] };
  assert.equal(alreadyThere(base.points.map(([, v]) => v), straddle, start, rb), false);
  assert.equal(analyzeMetricsWithBaseline({ series: [straddle], baselineSeries: [base], incidentStart: start }).findings[0]?.direction, 'down');
});

void test('a sparse node failing its few requests before the incident began is judged on those samples together', () => {
  const start = T0 + 600;
  const at = (t: number, v: number): [number, number] => [t, v];
  const flawless = Array.from({ length: 72 }, () => 100);
  // Two requests a sample: one sample at 0% is two failed requests (below the band alone), two samples are four.
  const volume = { baseline: 2, at: (): number => 2 };
  const s = { service: 'lb_remote', instance: '', metric: 'availability_percent', points: [at(start - 480, 0), at(start - 180, 0), at(start + 120, 0), at(start + 420, 0), at(start + 720, 0)] };
  const rb = scoreWindow(flawless, s.points.filter(([t]) => t >= start), s.metric, volume);
  assert.ok(rb && rb.score >= BAND_Z, String(rb?.score));
  assert.equal(alreadyThere(flawless, s, start, rb, volume), true);
});

void test('an operation that stops making the calls it always made is flagged in its own service, with no error status or slowdown', () => {
  // checkout's PlaceOrder always charges (payment) and ships (shipping); during the incident most orders return before charging.
  const order = (trace: string, t: number, complete: boolean): Span[] => [
    { ...span(trace, `${trace}a`, null, 'frontend', t, 50, null), operation: 'PlaceOrder' },
    { ...span(trace, `${trace}b`, `${trace}a`, 'checkout', t, 40, null), operation: 'PlaceOrder' },
    { ...span(trace, `${trace}c`, `${trace}b`, 'cart', t, 5, null), operation: 'GetCart' },
    ...(complete
      ? [{ ...span(trace, `${trace}d`, `${trace}b`, 'payment', t, 5, null), operation: 'Charge' }, { ...span(trace, `${trace}e`, `${trace}b`, 'shipping', t, 5, null), operation: 'ShipOrder' }]
      : []),
  ];
  const baselineSpans = Array.from({ length: 20 }, (_, i) => order(`b${i}`, T0 - 3600 + i * 10, true)).flat();
  const spans = Array.from({ length: 6 }, (_, i) => order(`t${i}`, T0 + i * 10, i === 0)).flat();
  const found = missingCalls(indexTraces(baselineSpans), () => true, indexTraces(spans), () => true);
  assert.deepEqual(found.map((m) => [m.service, m.operation, m.missing, m.n]), [['checkout', 'PlaceOrder', 5, 6]]);
  assert.deepEqual(found[0]?.calls, ['cart GetCart', 'payment Charge', 'shipping ShipOrder']);
  const ev = analyzeTraces({ spans, baselineSpans, incidentStart: T0 });
  const f = ev.findings.find((x) => x.id.endsWith(':missing-calls'));
  assert.equal(f?.service, 'checkout');
  assert.match(f?.summary ?? '', /made fewer of its usual calls: 5 of 6 during the incident/);
  // One short call tree in six is within what sampling and window edges do.
  const one = Array.from({ length: 6 }, (_, i) => order(`u${i}`, T0 + i * 10, i !== 0)).flat();
  assert.equal(missingCalls(indexTraces(baselineSpans), () => true, indexTraces(one), () => true).length, 0);
});

void test('a call tree cut short right after a call into another service points at that service too', () => {
  // checkout's PrepOrderItems always gets a product (through its own client span) then converts currency; during
  // the incident it stops right after the product call came back.
  const prep = (trace: string, t: number, complete: boolean): Span[] => [
    { ...span(trace, `${trace}a`, null, 'checkout', t, 40, null), operation: 'PrepOrderItems' },
    { ...span(trace, `${trace}b`, `${trace}a`, 'checkout', t, 10, null), operation: 'catalog.GetProduct' },
    { ...span(trace, `${trace}c`, `${trace}b`, 'catalog', t + 0.001, 8, null), operation: 'GetProduct' },
    ...(complete ? [{ ...span(trace, `${trace}d`, `${trace}a`, 'checkout', t + 0.02, 10, null), operation: 'ConvertCurrency' }] : []),
  ];
  const baselineSpans = Array.from({ length: 20 }, (_, i) => prep(`b${i}`, T0 - 3600 + i * 10, true)).flat();
  const spans = Array.from({ length: 5 }, (_, i) => prep(`t${i}`, T0 + i * 10, false)).flat();
  const found = missingCalls(indexTraces(baselineSpans), () => true, indexTraces(spans), () => true);
  assert.equal(found[0]?.lastCallee, 'catalog');
  const ev = analyzeTraces({ spans, baselineSpans, incidentStart: T0 });
  assert.ok(ev.findings.some((f) => f.service === 'catalog' && f.id.endsWith(':cut-after') && f.readOff === 'checkout'), 'read off checkout\'s call tree');
  assert.ok(ev.findings.some((f) => f.service === 'checkout' && f.id.endsWith(':missing-calls')));
});

/**
 * A generic front-end handler ('Recv') serving home pages (list products, then currencies) and,
 * now and then, orders (place the order, then recommendations and currencies). `cut` orders stop
 * right after the order call came back; `orderComplete` says whether checkout's own PlaceOrder made
 * its usual calls (charge, ship).
 */
function shop(trace: string, t: number, kind: 'home' | 'order', cut = false, orderComplete = true): Span[] {
  const op = (id: string, parent: string | null, service: string, operation: string, at = t): Span => ({ ...span(trace, `${trace}${id}`, parent ? `${trace}${parent}` : null, service, at, 5, null), operation });
  if (kind === 'home') return [op('a', null, 'frontend', 'Recv'), op('b', 'a', 'frontend', 'catalog.ListProducts'), op('c', 'b', 'catalog', 'ListProducts'), op('d', 'a', 'frontend', 'currency.GetSupported', t + 0.01), op('e', 'd', 'currency', 'GetSupported', t + 0.01)];
  return [
    op('a', null, 'frontend', 'Recv'),
    op('b', 'a', 'frontend', 'checkout.PlaceOrder'),
    op('c', 'b', 'checkout', 'PlaceOrder'),
    ...(orderComplete ? [op('f', 'c', 'payment', 'Charge'), op('g', 'c', 'shipping', 'ShipOrder')] : []),
    ...(cut ? [] : [op('d', 'a', 'frontend', 'recommendation.List', t + 0.02), op('e', 'd', 'recommendation', 'List', t + 0.02), op('h', 'a', 'frontend', 'currency.GetSupported', t + 0.03), op('i', 'h', 'currency', 'GetSupported', t + 0.03)]),
  ];
}

void test('a generic handler that stops right after one kind of call is flagged among the requests that made that call', () => {
  // 60 home pages and 6 orders in the baseline; during the incident 80 home pages run as usual and all 5 orders stop right after PlaceOrder.
  const baselineSpans = [...Array.from({ length: 60 }, (_, i) => shop(`bh${i}`, T0 - 3600 + i, 'home')), ...Array.from({ length: 6 }, (_, i) => shop(`bo${i}`, T0 - 3000 + i, 'order'))].flat();
  const spans = [...Array.from({ length: 80 }, (_, i) => shop(`h${i}`, T0 + i, 'home')), ...Array.from({ length: 5 }, (_, i) => shop(`o${i}`, T0 + 200 + i, 'order', true))].flat();
  const found = missingCalls(indexTraces(baselineSpans), () => true, indexTraces(spans), () => true);
  const recv = found.find((m) => m.service === 'frontend' && m.operation === 'Recv');
  assert.ok(recv, JSON.stringify(found));
  assert.equal(recv.given, 'frontend checkout.PlaceOrder');
  assert.deepEqual([recv.missing, recv.n], [5, 5]);
  const ev = analyzeTraces({ spans, baselineSpans, incidentStart: T0 });
  assert.match(ev.findings.find((f) => f.service === 'frontend' && f.id.endsWith(':missing-calls'))?.summary ?? '', /5 of 5 that call frontend checkout.PlaceOrder/);
});

void test('a caller that gives up right after a callee answered in full is where the code went wrong, unless others give up after that callee too', () => {
  const baselineSpans = [...Array.from({ length: 60 }, (_, i) => shop(`bh${i}`, T0 - 3600 + i, 'home')), ...Array.from({ length: 6 }, (_, i) => shop(`bo${i}`, T0 - 3000 + i, 'order'))].flat();
  const home = Array.from({ length: 80 }, (_, i) => shop(`h${i}`, T0 + i, 'home')).flat();
  // checkout charged and shipped every order (its usual calls), then frontend dropped the rest of the page.
  const complete = [...home, ...Array.from({ length: 5 }, (_, i) => shop(`o${i}`, T0 + 200 + i, 'order', true, true)).flat()];
  const [recv] = missingCalls(indexTraces(baselineSpans), () => true, indexTraces(complete), () => true).filter((m) => m.service === 'frontend');
  assert.equal(recv?.lastCallee, null);
  assert.equal(recv?.answeredInFull, 'checkout');
  const ev = analyzeTraces({ spans: complete, baselineSpans, incidentStart: T0 });
  assert.ok(!ev.findings.some((f) => f.id.endsWith(':cut-after')), JSON.stringify(ev.findings.map((f) => f.id)));
  assert.match(ev.findings.find((f) => f.service === 'frontend' && f.id.endsWith(':missing-calls'))?.summary ?? '', /came back complete \(checkout made all its usual calls\)/);
  // checkout itself stopped before charging: its answer was cut short, and frontend's giving up is read off as checkout's doing.
  const short = [...home, ...Array.from({ length: 5 }, (_, i) => shop(`o${i}`, T0 + 200 + i, 'order', true, false)).flat()];
  const cut = analyzeTraces({ spans: short, baselineSpans, incidentStart: T0 });
  assert.ok(cut.findings.some((f) => f.service === 'checkout' && f.id.endsWith(':cut-after') && f.readOff === 'frontend'));
  // Two callers both give up right after catalog answered (its query made, as always): what they share is catalog.
  const twoCallers = (trace: string, t: number, stop: boolean): Span[] => {
    const op = (id: string, parent: string | null, service: string, operation: string, at = t): Span => ({ ...span(trace, `${trace}${id}`, parent ? `${trace}${parent}` : null, service, at, 5, null), operation });
    return [
      op('a', null, 'frontend', 'Product'),
      op('b', 'a', 'frontend', 'catalog.Get'),
      op('c', 'b', 'catalog', 'Get'),
      op('d', 'c', 'catalog', 'sql.query'),
      ...(stop ? [] : [op('e', 'a', 'frontend', 'currency.Convert', t + 0.01), op('f', 'e', 'currency', 'Convert', t + 0.01)]),
      op('g', null, 'recommendation', 'List', t + 1),
      op('h', 'g', 'recommendation', 'catalog.Get', t + 1),
      op('i', 'h', 'catalog', 'Get', t + 1),
      op('j', 'i', 'catalog', 'sql.query', t + 1),
      ...(stop ? [] : [op('k', 'g', 'recommendation', 'shuffle', t + 1.01)]),
    ];
  };
  const shared = analyzeTraces({
    spans: Array.from({ length: 6 }, (_, i) => twoCallers(`s${i}`, T0 + 10 * i, true)).flat(),
    baselineSpans: Array.from({ length: 20 }, (_, i) => twoCallers(`b${i}`, T0 - 3600 + 10 * i, false)).flat(),
    incidentStart: T0,
  });
  const blamed = shared.findings.filter((f) => f.id.endsWith(':cut-after')).map((f) => `${f.service}<-${f.readOff}`).sort();
  assert.deepEqual(blamed, ['catalog<-frontend', 'catalog<-recommendation']);
});

void test('a spike the fault-free baseline shows as often is no anomaly; a level it never reaches is', () => {
  // A p50 that sits at 4-5 ms and jumps to 40-70 ms in about one minute of four, fault or not.
  const spiky = (i: number): number => (i % 4 === 1 ? 0.04 + 0.01 * (i % 3) : 0.0045 + 0.0005 * noise(i));
  const base: MetricSeries = { ...series('currency', 'request_latency_p50_seconds', spiky, 30), points: series('currency', 'request_latency_p50_seconds', spiky, 30).points.map(([t, v]) => [t - 100_000, v]) };
  const start = T0 + 600;
  const usual = series('currency', 'request_latency_p50_seconds', (i) => (i >= 60 ? spiky(i + 1) : spiky(i)), 70);
  // Scored by median and MAD alone, the usual spikes look like a large anomaly.
  const window = usual.points.filter(([t]) => t >= start);
  const r = scoreWindow(base.points.map(([, v]) => v), window, usual.metric);
  assert.ok(r && r.score >= BAND_Z, JSON.stringify(r));
  assert.equal(usualForReference(base.points.map(([, v]) => v), window, r), true);
  const ev = analyzeMetricsWithBaseline({ series: [usual], baselineSeries: [base], incidentStart: start });
  assert.equal(ev.findings.length, 0, JSON.stringify(ev.findings.map((f) => f.summary)));
  // The same series stuck at 60 ms for the whole window is an anomaly.
  const stuck = series('currency', 'request_latency_p50_seconds', (i) => (i >= 60 ? 0.06 : spiky(i)), 70);
  const hit = analyzeMetricsWithBaseline({ series: [stuck], baselineSeries: [base], incidentStart: start });
  assert.equal(hit.findings[0]?.service, 'currency');
  // And a level the baseline never reached counts even for two samples.
  const once = series('currency', 'request_latency_p50_seconds', (i) => (i === 62 || i === 63 ? 0.3 : i >= 60 ? 0.0045 : spiky(i)), 70);
  assert.equal(analyzeMetricsWithBaseline({ series: [once], baselineSeries: [base], incidentStart: start }).findings[0]?.service, 'currency');
});

void test('the time a service\'s requests took beyond the usual is requests × its average latency\'s rise, summed over instances', () => {
  // 5-minute samples; incident from the third. site: 100 requests a sample at 0.1 s, then 0.3 s.
  const pts = (values: number[]): [number, number][] => values.map((v, i) => [T0 + 300 * i, v]);
  const s = (service: string, instance: string, metric: string, values: number[]): MetricSeries => ({ service, instance, metric, points: pts(values) });
  const start = T0 + 600;
  const input = [
    s('site', '', 'latency_avg_seconds', [0.1, 0.1, 0.3, 0.3]),
    s('site', '', 'request_count', [100, 100, 200, 100]),
    s('flow', 'a', 'latency_avg_ms', [1000, 1000, 4000, 1000]),
    s('flow', 'a', 'request_count', [5, 5, 6, 5]),
    s('flow', 'b', 'latency_avg_ms', [1000, 1000, 3000, 1000]),
    s('flow', 'b', 'request_count', [5, 5, 4, 5]),
    // No request count: no accounting.
    s('cache', '', 'latency_avg_seconds', [0.01, 0.01, 0.5, 0.5]),
  ];
  const ev = analyzeMetrics({ series: input, incidentStart: start });
  assert.deepEqual(Object.keys(ev.extraTime ?? {}), ['flow', 'site']);
  assert.equal(ev.extraTime?.['site']?.requests, 300);
  assert.ok(Math.abs((ev.extraTime?.['site']?.seconds ?? 0) - (200 * 0.2 + 100 * 0.2)) < 1e-9);
  // flow: 6 × 3 s + 4 × 2 s (and two samples back at the usual) over its two instances, milliseconds read as such.
  assert.equal(ev.extraTime?.['flow']?.requests, 20);
  assert.ok(Math.abs((ev.extraTime?.['flow']?.seconds ?? 0) - 26) < 1e-9);
  // Against a fault-free baseline, the usual average is that baseline's.
  const withBase = analyzeMetricsWithBaseline({
    series: input,
    baselineSeries: [s('site', '', 'latency_avg_seconds', [0.2, 0.2, 0.2, 0.2]), s('site', '', 'request_count', [100, 100, 100, 100])],
    incidentStart: start,
  });
  assert.ok(Math.abs((withBase.extraTime?.['site']?.seconds ?? 0) - 30) < 1e-9);
  assert.equal(analyzeMetrics({ series: [input[6] as MetricSeries], incidentStart: start }).extraTime, undefined);
});
