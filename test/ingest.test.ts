/**
 * The ingest HTTP server, end to end over a real socket: what senders get back and
 * what reaches the sink (a recording in-memory AlertSink).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import type { AlertBatch } from '../src/schemas/alert.js';
import {
  createIngestServer,
  createMemorySink,
  incidentIdForGroup,
  INGEST_ERROR_CODES,
  INGEST_ERRORS,
  labelsFingerprint,
  signBody,
  SinkUnavailableError,
  type AlertSink,
  type IngestServerOptions,
} from '../src/ingest/index.js';

const FIXTURE_TEXT = readFileSync(new URL('./fixtures/alertmanager-v4.json', import.meta.url), 'utf8');
const fixture = (): Record<string, any> => JSON.parse(FIXTURE_TEXT);
const NOW = new Date('2024-05-14T09:22:00.000Z');
const AM = '/v1/alerts/alertmanager';
const GENERIC = '/v1/alerts';

interface Started {
  url: string;
  sink: ReturnType<typeof createMemorySink>;
  logs: string[];
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(options: Partial<IngestServerOptions> = {}): Promise<Started> {
  const sink = createMemorySink();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const server = createIngestServer({ sink, logger, now: () => NOW, ...options });
  servers.push(server);
  const { url } = await server.listen(0);
  return {
    url,
    sink,
    logs,
    async post(path, body, headers = {}) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
  };
}

const batchesOf = (s: Started): AlertBatch[] => s.sink.calls.flat();

void describe('Alertmanager webhook', () => {
  void test('a v4 notification is accepted into the incident of its groupKey', async () => {
    const s = await start();
    const res = await s.post(AM, fixture());
    assert.equal(res.status, 202);
    const groupKey = fixture()['groupKey'] as string;
    assert.deepEqual(res.body, {
      accepted: 2,
      incidents: [{ id: incidentIdForGroup(groupKey), fingerprints: ['3f2b8c1d9a4e5f60', 'a1c07e52b3d94f18'] }],
    });
    assert.equal(s.sink.calls.length, 1, 'the sink is called once per request');
    const [batch] = batchesOf(s);
    assert.ok(batch);
    assert.equal(batch.groupKey, groupKey);
    const [firing, resolved] = batch.alerts;
    assert.equal(firing?.status, 'firing');
    assert.equal(firing?.source, 'alertmanager');
    assert.equal(firing?.endsAt, undefined, 'the zero endsAt of a firing alert is dropped');
    assert.equal(firing?.labels['service'], 'checkout');
    assert.equal(firing?.annotations['summary'], 'checkout error rate above 2%');
    assert.equal(firing?.receivedAt, NOW.toISOString());
    assert.ok(firing?.generatorURL?.includes('&g0.tab=1'));
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.endsAt, '2024-05-14T09:26:13.118Z');
  });

  void test('redelivering the same notification gives the same deliveryId', async () => {
    const s = await start();
    await s.post(AM, FIXTURE_TEXT);
    await s.post(AM, FIXTURE_TEXT);
    const [first, second] = batchesOf(s);
    assert.ok(first && second);
    assert.equal(first.deliveryId, second.deliveryId);
    assert.equal(s.sink.deliveries.size, 1);

    const changed = fixture();
    changed['alerts'][0].status = 'resolved';
    await s.post(AM, changed);
    assert.notEqual(batchesOf(s)[2]?.deliveryId, first.deliveryId, 'a status change is a new delivery');
  });

  const required: [path: string, edit: (p: Record<string, any>) => void][] = [
    ['version', (p) => delete p['version']],
    ['groupKey', (p) => delete p['groupKey']],
    ['status', (p) => delete p['status']],
    ['alerts', (p) => delete p['alerts']],
    ['alerts[0].status', (p) => delete p['alerts'][0].status],
    ['alerts[0].labels', (p) => delete p['alerts'][0].labels],
    ['alerts[0].startsAt', (p) => delete p['alerts'][0].startsAt],
    ['alerts[0].fingerprint', (p) => delete p['alerts'][0].fingerprint],
  ];
  const mistyped: [path: string, edit: (p: Record<string, any>) => void][] = [
    ['version', (p) => (p['version'] = 4)],
    ['version', (p) => (p['version'] = '3')],
    ['groupKey', (p) => (p['groupKey'] = { k: 1 })],
    ['groupKey', (p) => (p['groupKey'] = '')],
    ['truncatedAlerts', (p) => (p['truncatedAlerts'] = '0')],
    ['truncatedAlerts', (p) => (p['truncatedAlerts'] = -1)],
    ['status', (p) => (p['status'] = 'pending')],
    ['receiver', (p) => (p['receiver'] = 7)],
    ['groupLabels', (p) => (p['groupLabels'] = 'alertname')],
    ['commonLabels', (p) => (p['commonLabels'] = [])],
    ['commonAnnotations.summary', (p) => (p['commonAnnotations'] = { summary: 1 })],
    ['externalURL', (p) => (p['externalURL'] = false)],
    ['alerts', (p) => (p['alerts'] = {})],
    ['alerts', (p) => (p['alerts'] = [])],
    ['alerts[0]', (p) => (p['alerts'][0] = 'alert')],
    ['alerts[0].status', (p) => (p['alerts'][0].status = true)],
    ['alerts[0].labels', (p) => (p['alerts'][0].labels = ['a'])],
    ['alerts[1].labels.severity', (p) => (p['alerts'][1].labels.severity = 2)],
    ['alerts[0].annotations', (p) => (p['alerts'][0].annotations = 'text')],
    ['alerts[0].startsAt', (p) => (p['alerts'][0].startsAt = 1715678503)],
    ['alerts[0].startsAt', (p) => (p['alerts'][0].startsAt = 'yesterday')],
    ['alerts[0].endsAt', (p) => (p['alerts'][0].endsAt = null)],
    ['alerts[0].generatorURL', (p) => (p['alerts'][0].generatorURL = {})],
    ['alerts[0].fingerprint', (p) => (p['alerts'][0].fingerprint = 1234)],
    ['alerts[0].fingerprint', (p) => (p['alerts'][0].fingerprint = 'not-hex!')],
  ];

  void test('every required field, when missing, is named in a 400 and nothing is delivered', async () => {
    const s = await start();
    for (const [path, edit] of required) {
      const body = fixture();
      edit(body);
      const res = await s.post(AM, body);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.code, 'VIGIL_INVALID_PAYLOAD', path);
      assert.ok(res.body.error.message.includes(`${path}: required`), `${path}: ${res.body.error.message}`);
      assert.ok(res.body.error.issues.some((i: { path: string }) => i.path === path), path);
    }
    assert.equal(s.sink.calls.length, 0);
  });

  void test('every field of the wrong type or value is named in a 400 and nothing is delivered', async () => {
    const s = await start();
    for (const [path, edit] of mistyped) {
      const body = fixture();
      edit(body);
      const res = await s.post(AM, body);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.code, 'VIGIL_INVALID_PAYLOAD', path);
      assert.ok(res.body.error.message.includes(`${path}: `), `${path}: ${res.body.error.message}`);
      assert.deepEqual(
        res.body.error.issues.map((i: { path: string }) => i.path),
        [path],
        `only ${path} is reported`,
      );
    }
    assert.equal(s.sink.calls.length, 0);
  });

  void test('fields Alertmanager always sends but vigil does not need may be absent', async () => {
    const s = await start();
    const body = fixture();
    for (const k of ['receiver', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL', 'truncatedAlerts']) delete body[k];
    for (const k of ['annotations', 'endsAt', 'generatorURL']) delete body['alerts'][0][k];
    const res = await s.post(AM, body);
    assert.equal(res.status, 202);
    assert.deepEqual(batchesOf(s)[0]?.alerts[0]?.annotations, {});
  });

  void test('groupBy labels override the groupKey', async () => {
    const s = await start({ groupBy: ['alertname', 'service'] });
    const body = fixture();
    body['alerts'][1].labels.service = 'payments';
    const res = await s.post(AM, body);
    assert.equal(res.status, 202);
    const keys = batchesOf(s).map((b) => b.groupKey);
    assert.deepEqual(keys, ['{alertname="HighErrorRate",service="checkout"}', '{alertname="HighErrorRate",service="payments"}']);
    assert.equal(s.sink.calls.length, 1, 'all batches of a request go in one call');
    assert.deepEqual(
      res.body.incidents.map((i: { id: string }) => i.id),
      keys.map(incidentIdForGroup),
    );
  });
});

void describe('generic format', () => {
  const alert = { name: 'DiskAlmostFull', service: 'postgres', severity: 'warning', summary: 'disk 91% full' };

  void test('a single alert object is accepted with a stable fingerprint and the receive time as start', async () => {
    const s = await start();
    const res = await s.post(GENERIC, alert);
    assert.equal(res.status, 202);
    const [a] = batchesOf(s)[0]?.alerts ?? [];
    assert.ok(a);
    assert.deepEqual(a.labels, { alertname: 'DiskAlmostFull', service: 'postgres', severity: 'warning' });
    assert.deepEqual(a.annotations, { summary: 'disk 91% full' });
    assert.equal(a.fingerprint, labelsFingerprint({ severity: 'warning', service: 'postgres', alertname: 'DiskAlmostFull' }));
    assert.equal(a.startsAt, NOW.toISOString());
    assert.equal(a.status, 'firing');
    assert.equal(a.source, 'generic');
    assert.equal(batchesOf(s)[0]?.groupKey, '{service="postgres"}');
    assert.deepEqual(res.body, { accepted: 1, incidents: [{ id: incidentIdForGroup('{service="postgres"}'), fingerprints: [a.fingerprint] }] });
  });

  void test('a list and an {alerts} envelope are accepted and grouped by service', async () => {
    const s = await start();
    const list = [
      alert,
      { ...alert, name: 'ReplicationLag', startsAt: '2024-05-14T09:00:00+02:00', source: 'cloudwatch' },
      { name: 'HighLatency', service: 'checkout', severity: 'critical', status: 'resolved', fingerprint: 'ext-42' },
    ];
    const fromList = await s.post(GENERIC, list);
    const fromEnvelope = await s.post(GENERIC, { alerts: list });
    assert.equal(fromList.status, 202);
    assert.equal(fromList.body.accepted, 3);
    assert.deepEqual(fromEnvelope.body, fromList.body);
    const [first, second] = s.sink.calls;
    assert.deepEqual(first?.map((b) => b.groupKey), ['{service="postgres"}', '{service="checkout"}']);
    assert.deepEqual(first?.map((b) => b.deliveryId), second?.map((b) => b.deliveryId));
    assert.equal(first?.[0]?.alerts[1]?.source, 'cloudwatch');
    assert.equal(first?.[1]?.alerts[0]?.fingerprint, 'ext-42');
  });

  void test('groupBy labels override the default service grouping', async () => {
    const s = await start({ groupBy: ['alertname'] });
    await s.post(GENERIC, [alert, { ...alert, service: 'mysql' }]);
    assert.deepEqual(batchesOf(s).map((b) => b.groupKey), ['{alertname="DiskAlmostFull"}']);
  });

  void test('every required or mistyped field is named in a 400 and nothing is delivered', async () => {
    const s = await start();
    const cases: [path: string, body: unknown][] = [
      ['name', { ...alert, name: undefined }],
      ['service', { ...alert, service: undefined }],
      ['severity', { ...alert, severity: undefined }],
      ['name', { ...alert, name: 3 }],
      ['service', { ...alert, service: '' }],
      ['status', { ...alert, status: 'ok' }],
      ['labels.team', { ...alert, labels: { team: 1 } }],
      ['annotations', { ...alert, annotations: 'x' }],
      ['summary', { ...alert, summary: ['x'] }],
      ['startsAt', { ...alert, startsAt: 'now' }],
      ['endsAt', { ...alert, endsAt: 12 }],
      ['fingerprint', { ...alert, fingerprint: '' }],
      ['source', { ...alert, source: 'has spaces' }],
      ['generatorURL', { ...alert, generatorURL: 1 }],
      ['sumary', { ...alert, sumary: 'typo' }],
      ['body[1].severity', [alert, { ...alert, severity: undefined }]],
      ['alerts[0].name', { alerts: [{ ...alert, name: undefined }] }],
      ['alerts', { alerts: [] }],
      ['body', JSON.stringify('just a string')],
    ];
    for (const [path, body] of cases) {
      const res = await s.post(GENERIC, body);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.code, 'VIGIL_INVALID_PAYLOAD', path);
      assert.ok(res.body.error.message.includes(`${path}: `), `${path}: ${res.body.error.message}`);
    }
    assert.equal(s.sink.calls.length, 0);
  });
});

void describe('request handling', () => {
  void test('an oversized body gets 413 and is not delivered', async () => {
    const s = await start({ maxBodyBytes: 1024 });
    const big = { ...fixture(), padding: 'x'.repeat(4096) };
    const res = await s.post(AM, big);
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'VIGIL_BODY_TOO_LARGE');
    assert.equal(s.sink.calls.length, 0);
  });

  void test('an oversized chunked body (no Content-Length) is cut off at the limit with 413', async () => {
    const s = await start({ maxBodyBytes: 1024 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(s.url + AM, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // Keep writing until the server answers: it must not wait for the end.
      let sent = 0;
      const pump = () => {
        if (sent > 64 * 1024 || req.destroyed) return;
        sent += 512;
        req.write('x'.repeat(512), () => setImmediate(pump));
      };
      pump();
    });
    assert.equal(status, 413);
    assert.equal(s.sink.calls.length, 0);
  });

  void test('non-JSON bodies are refused: 415 for other content types, 400 for broken JSON', async () => {
    const s = await start();
    const form = await s.post(AM, 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.equal(form.body.error.code, 'VIGIL_UNSUPPORTED_MEDIA_TYPE');
    const gzip = await s.post(AM, FIXTURE_TEXT, { 'content-encoding': 'gzip' });
    assert.equal(gzip.status, 415);
    const broken = await s.post(AM, '{"version": "4",');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'VIGIL_INVALID_JSON');
    const empty = await s.post(GENERIC, '');
    assert.equal(empty.body.error.code, 'VIGIL_INVALID_JSON');
    const charset = await s.post(AM, FIXTURE_TEXT, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(charset.status, 202);
    assert.equal(s.sink.calls.length, 1);
  });

  void test('unknown routes get 404 and wrong methods 405 with Allow', async () => {
    const s = await start();
    const missing = await fetch(`${s.url}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error.code, 'VIGIL_NOT_FOUND');
    const wrong = await fetch(s.url + AM);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal(((await wrong.json()) as any).error.code, 'VIGIL_METHOD_NOT_ALLOWED');
  });

  void test('an unavailable backend gets 503 so the sender retries', async () => {
    const s = await start();
    s.sink.available = false;
    const res = await s.post(AM, fixture());
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'VIGIL_BACKEND_UNAVAILABLE');
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(s.sink.deliveries.size, 0);
  });

  void test('any other delivery error also gets 503, and the sink was called once with every batch', async () => {
    const calls: AlertBatch[][] = [];
    const failing: AlertSink = {
      async deliver(batches) {
        calls.push(batches);
        throw new Error('connection reset by peer');
      },
      async ready() {
        return true;
      },
    };
    const s = await start({ sink: failing, groupBy: ['instance'] });
    const res = await s.post(AM, fixture());
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'VIGIL_DELIVERY_FAILED');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.length, 2);
    assert.ok(!JSON.stringify(res.body).includes('connection reset'), 'internal error text is not sent back');
  });

  void test('/healthz is 200 and /readyz follows sink.ready()', async () => {
    let ready: boolean | 'throw' | 'hang' = true;
    const sink: AlertSink = {
      deliver: async () => [],
      ready: () => (ready === 'throw' ? Promise.reject(new SinkUnavailableError()) : ready === 'hang' ? new Promise<boolean>(() => {}) : Promise.resolve(ready)),
    };
    const s = await start({ sink, readyTimeoutMs: 100 });
    const status = async (path: string) => (await fetch(s.url + path)).status;
    assert.equal(await status('/healthz'), 200);
    assert.equal(await status('/readyz'), 200);
    ready = false;
    assert.equal(await status('/readyz'), 503);
    assert.equal(await status('/healthz'), 200);
    ready = 'throw';
    assert.equal(await status('/readyz'), 503);
    ready = 'hang';
    assert.equal(await status('/readyz'), 503);
    ready = true;
    assert.equal(await status('/readyz'), 200);
  });

  void test('/metrics counts requests, alerts and delivered batches', async () => {
    const s = await start();
    await s.post(AM, fixture());
    await s.post(AM, {});
    await fetch(`${s.url}/nope`);
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^vigil_ingest_requests_total\{route="\/v1\/alerts\/alertmanager",code="202"\} 1$/m);
    assert.match(text, /^vigil_ingest_requests_total\{route="\/v1\/alerts\/alertmanager",code="400"\} 1$/m);
    assert.match(text, /^vigil_ingest_requests_total\{route="unmatched",code="404"\} 1$/m);
    assert.match(text, /^vigil_alerts_received_total\{source="alertmanager",status="firing"\} 1$/m);
    assert.match(text, /^vigil_alerts_received_total\{source="alertmanager",status="resolved"\} 1$/m);
    assert.match(text, /^vigil_ingest_batches_delivered_total\{via="group"\} 1$/m);
    assert.match(text, /^vigil_ingest_latency_seconds_count\{route="\/v1\/alerts\/alertmanager"\} 2$/m);
    assert.match(text, /^# TYPE vigil_ingest_latency_seconds histogram$/m);
  });

  void test('alert text is logged only under the "data" key', async () => {
    const s = await start();
    const marker = 'MARKER_7f3a';
    const body = fixture();
    body['groupKey'] = `{}:{alertname="${marker}"}`;
    await s.post(AM, body);
    await s.post(GENERIC, { name: 'x', service: 'y', severity: 'z', labels: { [marker]: 1 } });
    const lines = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => JSON.stringify(l['data'] ?? '').includes(marker)), 'the text is logged');
    for (const line of lines) {
      const { data: _data, ...rest } = line;
      assert.ok(!JSON.stringify(rest).includes(marker), `outside "data": ${JSON.stringify(rest)}`);
    }
  });
});

void describe('authentication', () => {
  const TOKEN = 'tok_4f0b1c9e8d7a6b5c4d3e2f1a';
  const SECRET = 'hmac-secret-for-tests';

  void test('without a valid bearer token: 401 and nothing delivered; with it: 202', async () => {
    const s = await start({ auth: { bearerTokens: ['other-token', TOKEN] } });
    const none = await s.post(AM, fixture());
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'VIGIL_UNAUTHORIZED');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await s.post(AM, fixture(), { authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.equal((await s.post(AM, fixture(), { authorization: `Basic ${TOKEN}` })).status, 401);
    assert.equal((await s.post(GENERIC, { name: 'a', service: 'b', severity: 'c' }, { authorization: 'Bearer nope' })).status, 401);
    assert.equal(s.sink.calls.length, 0);
    assert.equal((await s.post(AM, fixture(), { authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await s.post(AM, fixture(), { authorization: `bearer other-token` })).status, 202);
    assert.equal(s.sink.calls.length, 2);
    assert.ok(!s.logs.join('').includes(TOKEN), 'the token never reaches the log');
  });

  void test('an HMAC signature of the raw body is accepted; a wrong one is 401', async () => {
    const s = await start({ auth: { hmacSecrets: [SECRET] } });
    const body = FIXTURE_TEXT;
    assert.equal((await s.post(AM, body, { 'x-vigil-signature': signBody(SECRET, body) })).status, 202);
    const bad: [string, Record<string, string>][] = [
      ['other secret', { 'x-vigil-signature': signBody('wrong', body) }],
      ['other body', { 'x-vigil-signature': signBody(SECRET, body + ' ') }],
      ['malformed', { 'x-vigil-signature': 'sha256=zz' }],
      ['no scheme', { 'x-vigil-signature': signBody(SECRET, body).slice('sha256='.length) }],
      ['missing', {}],
      ['bearer instead', { authorization: `Bearer ${SECRET}` }],
    ];
    for (const [name, headers] of bad) {
      const res = await s.post(AM, body, headers);
      assert.equal(res.status, 401, name);
    }
    assert.equal(s.sink.calls.length, 1);
  });

  void test('with both configured, either credential is enough', async () => {
    const s = await start({ auth: { bearerTokens: [TOKEN], hmacSecrets: [SECRET] } });
    const body = FIXTURE_TEXT;
    assert.equal((await s.post(AM, body, { authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await s.post(AM, body, { 'x-vigil-signature': signBody(SECRET, body) })).status, 202);
    assert.equal((await s.post(AM, body, { authorization: 'Bearer wrong', 'x-vigil-signature': signBody(SECRET, body) })).status, 202);
    assert.equal((await s.post(AM, body, { authorization: 'Bearer wrong', 'x-vigil-signature': signBody('x', body) })).status, 401);
    assert.equal(s.sink.calls.length, 3);
  });

  void test('health, readiness and metrics stay open', async () => {
    const s = await start({ auth: { bearerTokens: [TOKEN] } });
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(s.url + path)).status, 200, path);
  });
});

void describe('error codes', () => {
  void test('every error code has a status and a doc line, and is documented for senders', () => {
    const doc = readFileSync(new URL('../src/ingest/GENERIC-FORMAT.md', import.meta.url), 'utf8');
    const errorsSection = doc.slice(doc.indexOf('## Errors'));
    for (const code of INGEST_ERROR_CODES) {
      const def = INGEST_ERRORS[code];
      assert.match(code, /^VIGIL_[A-Z_]+$/);
      assert.ok(def.status >= 400 && def.status < 600, code);
      assert.ok(def.doc.length > 10, `${code} has a doc line`);
      assert.match(errorsSection, new RegExp(`\\| \`${code}\` \\| ${def.status} \\|`), `${code} is in the Errors table of GENERIC-FORMAT.md`);
    }
    const documented = new Set(errorsSection.match(/VIGIL_[A-Z_]+/g));
    for (const code of documented) assert.ok(code in INGEST_ERRORS, `${code} is documented but does not exist`);
  });
});
