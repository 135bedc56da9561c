/**
 * A harness for the alert aggregation tests: the simulator (its topology links
 * payment → payments-db), a worker on its own task queue, the TemporalAlertSink with
 * the test's aggregation settings and the real ingest HTTP server. Helpers build
 * Alertmanager webhooks and read an alert group's records.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { pino } from 'pino';
import type { AggregationSettingsInput } from '../../src/aggregation/settings.js';
import { bindAllCapabilities } from '../../src/config.js';
import { createIngestServer, type AcceptedBody, type IngestServer } from '../../src/ingest/server.js';
import type { IncidentStatus } from '../../src/schemas/incident.js';
import type { VigilConfig } from '../../src/schemas/config.js';
import { startSimulator, type SimulatorHttp } from '../../src/simulator/index.js';
import { groupIdFor, TemporalAlertSink } from '../../src/temporal/temporal-alert-sink.js';
import { groupStatusQuery, statusQuery, type GroupStatus } from '../../workflows/messages.js';
import { FAST_SETTINGS } from './incident-harness.js';
import { startTestWorker, testClient, testConfig } from './temporal.js';

export interface AmAlert {
  status?: 'firing' | 'resolved';
  labels: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  fingerprint?: string;
}

/** A fingerprint like Alertmanager's: 16 hex digits of the label set. */
export function fingerprintOf(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join(',');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** An Alertmanager v4 webhook body. */
export function amWebhook(groupKey: string, alerts: AmAlert[]): Record<string, unknown> {
  const full = alerts.map((a) => ({
    status: a.status ?? 'firing',
    labels: a.labels,
    annotations: { summary: `${a.labels['alertname'] ?? 'alert'} on ${a.labels['service'] ?? '?'}` },
    startsAt: a.startsAt ?? '2025-01-01T00:00:00Z',
    endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.local/graph',
    fingerprint: a.fingerprint ?? fingerprintOf(a.labels),
  }));
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: full.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'vigil',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    alerts: full,
  };
}

export interface AggregationHarness {
  client: Client;
  connection: Connection;
  config: VigilConfig;
  ingestUrl: string;
  sim: SimulatorHttp;
  /** Batches the ingest server delivered so far, by who named their incident (its /metrics counter). */
  batchesVia(): { leased: number; asked: number };
  /** A group key unique to this test run. */
  key(name: string): string;
  post(body: unknown): Promise<{ status: number; body: AcceptedBody }>;
  group(groupKey: string): Promise<GroupStatus>;
  waitGroup(groupKey: string, predicate: (g: GroupStatus) => boolean, what: string, timeoutMs?: number): Promise<GroupStatus>;
  incident(id: string): WorkflowHandle;
  waitIncident(id: string, predicate: (s: IncidentStatus) => boolean, what: string, timeoutMs?: number): Promise<IncidentStatus>;
  close(): Promise<void>;
}

export async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

export async function startAggregationHarness(aggregation: AggregationSettingsInput, sinkOptions: { routingLeaseSeconds?: number } = {}): Promise<AggregationHarness> {
  const sim = await startSimulator({ port: 0, seed: 7 });
  const config = testConfig({
    tools: { servers: [{ name: 'simulator', transport: 'http', url: sim.mcpUrl }], capabilities: bindAllCapabilities('simulator') },
    incident: FAST_SETTINGS,
  });
  const worker = await startTestWorker(config);
  const { client, connection } = await testClient();
  const sink = new TemporalAlertSink(client, connection, { taskQueue: config.temporal.taskQueue, settings: FAST_SETTINGS, aggregation, ...sinkOptions });
  const ingest: IngestServer = createIngestServer({ sink, logger: pino({ level: 'silent' }) });
  const { url } = await ingest.listen(0, '127.0.0.1');
  const run = randomUUID().slice(0, 8);

  const h: AggregationHarness = {
    client,
    connection,
    config,
    ingestUrl: url,
    sim,
    batchesVia: () => ({ leased: ingest.metrics.batchesDelivered.get({ via: 'lease' }), asked: ingest.metrics.batchesDelivered.get({ via: 'group' }) }),
    key: (name) => `{}:{test="${run}",${name}}`,
    async post(body) {
      const res = await fetch(`${url}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as AcceptedBody };
    },
    group: (groupKey) => client.workflow.getHandle(groupIdFor(groupKey)).query(groupStatusQuery),
    waitGroup: (groupKey, predicate, what, timeoutMs = 30_000) =>
      poll(
        what,
        async () => {
          const g = await h.group(groupKey);
          return predicate(g) ? g : undefined;
        },
        timeoutMs,
      ),
    incident: (id) => client.workflow.getHandle(id),
    waitIncident: (id, predicate, what, timeoutMs = 30_000) =>
      poll(
        what,
        async () => {
          const s = await client.workflow.getHandle(id).query(statusQuery);
          return predicate(s) ? s : undefined;
        },
        timeoutMs,
      ),
    async close() {
      await ingest.close();
      // Leave nothing running on the shared dev server.
      const running: Promise<void>[] = [];
      for await (const wf of client.workflow.list({ query: `TaskQueue="${config.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
        running.push(
          client.workflow
            .getHandle(wf.workflowId, wf.runId)
            .terminate('test finished')
            .then(() => undefined, () => undefined),
        );
      }
      await Promise.all(running);
      await worker.stop();
      await connection.close();
      await sim.close();
    },
  };
  return h;
}
