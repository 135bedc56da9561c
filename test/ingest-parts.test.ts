/**
 * The parts of ingest that need no socket: the metrics registry's text format,
 * grouping and delivery ids, fingerprints, auth checks, error paths and option checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { Alert } from '../src/schemas/alert.js';
import {
  AlertmanagerWebhook,
  createAuthenticator,
  createIngestServer,
  createMemorySink,
  deliveryIdFor,
  formatPath,
  groupAlertmanagerAlerts,
  groupGenericAlerts,
  isJsonContentType,
  isZeroTime,
  labelGroupKey,
  labelsFingerprint,
  Registry,
  signBody,
} from '../src/ingest/index.js';

const alert = (fingerprint: string, labels: Record<string, string>, status: Alert['status'] = 'firing'): Alert => ({
  fingerprint,
  status,
  labels,
  annotations: {},
  startsAt: '2024-05-14T09:00:00Z',
  source: 'test',
});

void describe('metrics registry', () => {
  void test('renders counters and histograms in the Prometheus text format', () => {
    const r = new Registry();
    const c = r.counter({ name: 'jobs_total', help: 'Jobs.\nDone', labelNames: ['kind'] as const });
    const plain = r.counter({ name: 'plain_total', help: 'Plain.' });
    const h = r.histogram({ name: 'wait_seconds', help: 'Wait.', labelNames: ['q'] as const, buckets: [0.1, 1] });
    c.inc({ kind: 'a"b\\c\nd' });
    c.inc({ kind: 'x' }, 2.5);
    h.observe({ q: 'main' }, 0.05);
    h.observe({ q: 'main' }, 0.5);
    h.observe({ q: 'main' }, 3);
    assert.equal(plain.get(), 0);
    assert.equal(
      r.render(),
      [
        '# HELP jobs_total Jobs.\\nDone',
        '# TYPE jobs_total counter',
        'jobs_total{kind="a\\"b\\\\c\\nd"} 1',
        'jobs_total{kind="x"} 2.5',
        '# HELP plain_total Plain.',
        '# TYPE plain_total counter',
        'plain_total 0',
        '# HELP wait_seconds Wait.',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{q="main",le="0.1"} 1',
        'wait_seconds_bucket{q="main",le="1"} 2',
        'wait_seconds_bucket{q="main",le="+Inf"} 3',
        'wait_seconds_sum{q="main"} 3.55',
        'wait_seconds_count{q="main"} 3',
        '',
      ].join('\n'),
    );
  });

  void test('refuses bad names, duplicates, reserved labels and negative increments', () => {
    const r = new Registry();
    r.counter({ name: 'a_total', help: 'a' });
    assert.throws(() => r.counter({ name: 'a_total', help: 'again' }), /already registered/);
    assert.throws(() => r.counter({ name: '1bad', help: 'x' }), /invalid metric name/);
    assert.throws(() => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] }), /invalid label name/);
    assert.throws(() => r.histogram({ name: 'h2', help: 'x', buckets: [1, 1] }), /strictly increasing/);
    const c = r.counter({ name: 'b_total', help: 'b' });
    assert.throws(() => c.inc(undefined, -1), RangeError);
  });
});

void describe('grouping', () => {
  void test('the delivery id does not depend on alert order but on group, status and start', () => {
    const a = alert('aa', { service: 's' });
    const b = alert('bb', { service: 's' });
    assert.equal(deliveryIdFor('g', [a, b]), deliveryIdFor('g', [b, a]));
    assert.notEqual(deliveryIdFor('g', [a, b]), deliveryIdFor('h', [a, b]));
    assert.notEqual(deliveryIdFor('g', [a]), deliveryIdFor('g', [{ ...a, status: 'resolved' }]));
    assert.notEqual(deliveryIdFor('g', [a]), deliveryIdFor('g', [{ ...a, startsAt: '2024-05-14T10:00:00Z' }]));
    assert.match(deliveryIdFor('g', [a]), /^[0-9a-f]{64}$/);
  });

  void test('the service group label falls back to job, app, container, deployment', () => {
    assert.equal(labelGroupKey({ labels: { job: 'api' } }, ['service']), '{service="api"}');
    assert.equal(labelGroupKey({ labels: { alertname: 'X"' } }, ['alertname', 'team']), '{alertname="X\\"",team=""}');
  });

  void test('Alertmanager alerts keep the payload groupKey unless groupBy is set; generic default to service', () => {
    const alerts = [alert('1', { service: 'a' }), alert('2', { service: 'b' }), alert('3', { service: 'a' })];
    assert.deepEqual(groupAlertmanagerAlerts('{}:{x="y"}', alerts).map((b) => [b.groupKey, b.alerts.length]), [['{}:{x="y"}', 3]]);
    assert.deepEqual(groupAlertmanagerAlerts('{}:{x="y"}', alerts, []).length, 1);
    assert.deepEqual(
      groupAlertmanagerAlerts('{}:{x="y"}', alerts, ['service']).map((b) => [b.groupKey, b.alerts.map((x) => x.fingerprint)]),
      [['{service="a"}', ['1', '3']], ['{service="b"}', ['2']]],
    );
    assert.deepEqual(groupGenericAlerts(alerts).map((b) => b.groupKey), ['{service="a"}', '{service="b"}']);
  });

  void test('a label fingerprint is stable whatever the key order', () => {
    assert.equal(labelsFingerprint({ a: '1', b: '2' }), labelsFingerprint({ b: '2', a: '1' }));
    assert.notEqual(labelsFingerprint({ a: '1', b: '2' }), labelsFingerprint({ a: '12' }));
    assert.match(labelsFingerprint({}), /^[0-9a-f]{64}$/);
  });
});

void describe('schemas', () => {
  void test('Alertmanager timestamps: nanoseconds, offsets and the Go zero time parse', () => {
    const base = { version: '4', groupKey: 'g', status: 'firing', alerts: [{ status: 'firing', labels: {}, fingerprint: 'ab12' }] };
    for (const startsAt of ['2024-05-14T09:21:43.118353219Z', '2024-05-14T11:21:43+02:00', '0001-01-01T00:00:00Z']) {
      const r = AlertmanagerWebhook.safeParse({ ...base, alerts: [{ ...base.alerts[0], startsAt }] });
      assert.ok(r.success, startsAt);
    }
    assert.ok(isZeroTime('0001-01-01T00:00:00Z'));
    assert.ok(!isZeroTime('2024-05-14T09:21:43Z'));
  });

  void test('paths are written the way a sender reads them', () => {
    assert.equal(formatPath([]), 'body');
    assert.equal(formatPath(['alerts', 0, 'startsAt']), 'alerts[0].startsAt');
    assert.equal(formatPath([2, 'labels', 'a-b']), 'body[2].labels["a-b"]');
  });

  void test('JSON content types', () => {
    for (const ok of ['application/json', 'Application/JSON; charset=UTF-8', 'application/vnd.foo+json']) assert.ok(isJsonContentType(ok), ok);
    for (const bad of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data']) assert.ok(!isJsonContentType(bad), bad);
  });
});

void describe('authenticator', () => {
  void test('open when nothing is configured', () => {
    const auth = createAuthenticator();
    assert.equal(auth.enabled, false);
    assert.deepEqual(auth.checkHeaders({}), { result: 'allowed', method: 'none' });
  });

  void test('bearer tokens are checked from headers; signatures need the body', () => {
    const auth = createAuthenticator({ bearerTokens: ['t1', 't2'], hmacSecrets: ['s'] });
    assert.deepEqual(auth.checkHeaders({ authorization: 'Bearer t2' }), { result: 'allowed', method: 'bearer' });
    assert.deepEqual(auth.checkHeaders({ authorization: 'Bearer t3' }), { result: 'denied' });
    assert.deepEqual(auth.checkHeaders({ 'x-vigil-signature': 'sha256=00' }), { result: 'needs-body' });
    const body = Buffer.from('{"a":1}');
    assert.ok(auth.verifyBody({ 'x-vigil-signature': signBody('s', body) }, body));
    assert.ok(auth.verifyBody({ 'x-vigil-signature': signBody('s', body).toUpperCase().replace('SHA256=', 'sha256=') }, body));
    assert.ok(!auth.verifyBody({ 'x-vigil-signature': signBody('s', body) }, Buffer.from('{"a":2}')));
  });

  void test('signatures alone do not pass when only bearer tokens are configured', () => {
    const auth = createAuthenticator({ bearerTokens: ['t1'] });
    assert.deepEqual(auth.checkHeaders({ 'x-vigil-signature': signBody('t1', 'x') }), { result: 'denied' });
  });
});

void describe('server options', () => {
  void test('bad options fail at construction with a readable message', () => {
    assert.throws(
      () => createIngestServer({ sink: createMemorySink(), logger: pino({ enabled: false }), auth: { bearerTokens: [''] } }),
      /invalid ingest server options:[\s\S]*auth\.bearerTokens\[0\]/,
    );
    assert.throws(
      () => createIngestServer({ sink: createMemorySink(), logger: pino({ enabled: false }), groupBy: ['not a label'] }),
      /groupBy/,
    );
  });
});
