/**
 * The alerting path with real components: a tiny HTTP target scraped by Debian's
 * Prometheus every second, an alert rule with `for: 0s` that its 5xx ratio trips,
 * Debian's Alertmanager posting to vigil's ingest (through a relay that keeps the raw
 * bodies), the TemporalAlertSink starting the incident workflow on the suite's Temporal
 * dev server, and a worker whose metrics come from that Prometheus through prometheus-mcp
 * (config/tools.prometheus.example.yaml).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { pino } from 'pino';
import { createIngestServer, type AcceptedBody, type IngestServer } from '../src/ingest/server.js';
import { loadToolRegistry } from '../src/mcp/registry-load.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { groupIdFor, TemporalAlertSink } from '../src/temporal/temporal-alert-sink.js';
import { groupStatusQuery, statusQuery } from '../workflows/messages.js';
import { FAST_SETTINGS, waitForStatus } from './support/incident-harness.js';
import { freePort, pollUntil, startAlertmanager, startPrometheus, type Daemon } from './support/prometheus.js';
import { startTestWorker, testClient, testConfig } from './support/temporal.js';

const EXAMPLE_REGISTRY = fileURLToPath(new URL('../config/tools.prometheus.example.yaml', import.meta.url));
const DEADLINE_MS = 60_000;
/** The alert group's group_wait: the incident opens this long after the first alert. */
const SETTINGS = { ...FAST_SETTINGS, groupWaitSeconds: 5 };
const AM_PATH = '/v1/alerts/alertmanager';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** A scrape target: `payment`, answering a third of its requests with 500. */
function targetServer(): Server {
  let ok = 0;
  let failed = 0;
  return createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    ok += 20;
    failed += 10;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(['# TYPE http_requests_total counter', `http_requests_total{code="200"} ${ok}`, `http_requests_total{code="500"} ${failed}`, ''].join('\n'));
  });
}

/** What Alertmanager posted, and what vigil answered. */
interface Delivery {
  body: string;
  status: number;
  answer: AcceptedBody | undefined;
}

/** A relay in front of the ingest that keeps every body Alertmanager posts. */
function relayServer(ingestUrl: string, deliveries: Delivery[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      void fetch(`${ingestUrl}${req.url ?? ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          const text = await r.text();
          deliveries.push({ body, status: r.status, answer: r.status === 202 ? (JSON.parse(text) as AcceptedBody) : undefined });
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
        })
        .catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
  });
}

const closeServer = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

const servers: Server[] = [];
let prometheus: Daemon | undefined;
let alertmanager: Daemon | undefined;
let ingest: IngestServer | undefined;
let ingestUrl = '';
let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
let client: Client;
let connection: Connection | undefined;
const handles: WorkflowHandle[] = [];
const deliveries: Delivery[] = [];

before(async () => {
  const target = targetServer();
  servers.push(target);
  const targetAddress = await listen(target);
  // The worker reads metrics through prometheus-mcp, whose registry expands
  // ${PROMETHEUS_URL} from the environment when it first connects.
  const prometheusPort = await freePort();
  process.env['PROMETHEUS_URL'] = `http://127.0.0.1:${prometheusPort}`;

  const config = testConfig({ tools: loadToolRegistry(EXAMPLE_REGISTRY), incident: SETTINGS });
  worker = await startTestWorker(config);
  ({ client, connection } = await testClient());
  const sink = new TemporalAlertSink(client, connection, { taskQueue: config.temporal.taskQueue, settings: SETTINGS });
  ingest = createIngestServer({ sink, logger: pino({ level: 'silent' }) });
  ingestUrl = (await ingest.listen(0, '127.0.0.1')).url;
  const relay = relayServer(ingestUrl, deliveries);
  servers.push(relay);
  const relayAddress = await listen(relay);

  alertmanager = await startAlertmanager({
    config: [
      'route:',
      '  receiver: vigil',
      '  group_by: [alertname, service]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 2s',
      'receivers:',
      '  - name: vigil',
      '    webhook_configs:',
      `      - url: http://${relayAddress}${AM_PATH}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  });
  prometheus = await startPrometheus({
    port: prometheusPort,
    config: [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files: [RULES_FILE]',
      'alerting:',
      '  alertmanagers:',
      '    - static_configs:',
      `        - targets: ["127.0.0.1:${alertmanager.port}"]`,
      'scrape_configs:',
      '  - job_name: payment',
      '    static_configs:',
      `      - targets: ["${targetAddress}"]`,
      '',
    ].join('\n'),
    rules: [
      'groups:',
      '  - name: vigil-e2e',
      '    rules:',
      '      - alert: PaymentErrorRatioHigh',
      '        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5s])) / sum by (job) (rate(http_requests_total[5s])) > 0.1',
      '        for: 0s',
      '        labels: { severity: critical, service: payment }',
      '        annotations: { summary: "payment answers {{ $value | humanizePercentage }} of its requests with 5xx" }',
      '',
    ].join('\n'),
  });
});

after(async () => {
  await Promise.allSettled(handles.map((h) => h.terminate('alerting e2e test finished')));
  await prometheus?.stop();
  await alertmanager?.stop();
  await ingest?.close();
  await Promise.all(servers.map(closeServer));
  await worker?.stop();
  await connection?.close();
});

void test('a Prometheus alert reaches vigil through Alertmanager as one incident, and redeliveries change nothing', async () => {
  const prom = prometheus;
  assert.ok(prom);

  // 1. The rule fires in Prometheus.
  await pollUntil(
    'the PaymentErrorRatioHigh rule to fire',
    async () => {
      const body = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return body.data.alerts.some((a) => a.labels['alertname'] === 'PaymentErrorRatioHigh' && a.state === 'firing') ? true : undefined;
    },
    DEADLINE_MS,
  );

  // 2. Alertmanager posts it, and vigil accepts it.
  const first = await pollUntil('Alertmanager to post to vigil', () => Promise.resolve(deliveries.find((d) => d.status === 202)), DEADLINE_MS);
  const payload = JSON.parse(first.body) as { alerts: { labels: Record<string, string> }[] };
  assert.equal(payload.alerts[0]?.labels['alertname'], 'PaymentErrorRatioHigh');
  const incidentId = first.answer?.incidents[0]?.id;
  assert.ok(incidentId, `vigil named the incident: ${JSON.stringify(first.answer)}`);

  // 3. The alert group (update-with-start) holds that alert and named its incident at once;
  //    the incident workflow opens after group_wait with it.
  const groupKey = (JSON.parse(first.body) as { groupKey: string }).groupKey;
  const group = client.workflow.getHandle(groupIdFor(groupKey));
  handles.push(group);
  const recorded = await group.query(groupStatusQuery);
  assert.deepEqual(Object.values(recorded.state.alerts).map((a) => a.incidentId), [incidentId]);
  const runId = await pollUntil('the incident workflow to open after group_wait', async () => (await client.workflow.getHandle(incidentId).describe().catch(() => undefined))?.runId, DEADLINE_MS);
  const handle = client.workflow.getHandle(incidentId, runId);
  handles.push(handle);
  const received = await waitForStatus(handle, (s) => s.alerts.length > 0, DEADLINE_MS);
  assert.equal(received.alerts.length, 1);
  const alert = received.alerts[0];
  assert.equal(alert?.labels['alertname'], 'PaymentErrorRatioHigh');
  assert.equal(alert?.labels['service'], 'payment');
  assert.equal(alert?.status, 'firing');
  assert.equal(received.severity, 'P0');

  // 4. Redeliveries: the captured body posted once more by hand, and Alertmanager's own
  //    repeat (repeat_interval 2s). Same incident; the group sees each and adds nothing.
  const again = await fetch(`${ingestUrl}${AM_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: first.body });
  assert.equal(again.status, 202);
  const againBody = (await again.json()) as AcceptedBody;
  assert.deepEqual(againBody.incidents.map((i) => i.id), [incidentId]);
  await pollUntil('Alertmanager to repeat the notification', () => Promise.resolve(deliveries.filter((d) => d.status === 202).length >= 2 ? true : undefined), DEADLINE_MS);
  for (const d of deliveries) assert.deepEqual(d.answer?.incidents.map((i) => i.id), [incidentId], 'every delivery lands in the same incident');

  const expected = deliveries.filter((d) => d.status === 202).length + 1;
  const seen = await pollUntil(
    `${expected} deliveries in the alert group`,
    async () => {
      const g = await group.query(groupStatusQuery);
      return g.state.counters.deliveries >= expected ? g : undefined;
    },
    DEADLINE_MS,
  );
  assert.equal(Object.keys(seen.state.alerts).length, 1, 'the redeliveries added no alert');
  assert.equal(seen.state.incidents.length, 1, 'and opened no second incident');
  const afterRedelivery: IncidentStatus = await handle.query(statusQuery);
  assert.equal(afterRedelivery.alerts.length, 1, 'the incident holds the one alert');
  assert.deepEqual(afterRedelivery.alerts, received.alerts);
  const latest = await client.workflow.getHandle(incidentId).describe();
  assert.equal(latest.runId, runId, 'the incident ran once');

  // 5. After group_wait the incident analyses the metrics Prometheus has, through prometheus-mcp.
  const analysed = await waitForStatus(handle, (s) => s.evidence.some((e) => e.source === 'metrics'), DEADLINE_MS);
  const metrics = analysed.evidence.find((e) => e.source === 'metrics');
  assert.notEqual(metrics?.status, 'missing', `metrics come through prometheus-mcp: ${metrics?.error ?? ''}`);
  assert.equal(analysed.alerts.length, 1);
});
